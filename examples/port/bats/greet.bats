#!/usr/bin/env bats

@test "greets the world" {
  run ./greet.sh
  [ "$status" -eq 0 ]
  [ "$output" = "hello, world" ]
}

@test "greets by name" {
  run ./greet.sh smol
  [ "$output" = "hello, smol" ]
}
