"""A tiny module under test."""


def add(a, b):
    return a + b


def div(a, b):
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return a / b
