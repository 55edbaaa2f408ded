#!/bin/sh
# greet [NAME]: prints a greeting
echo "hello, ${1:-world}"
