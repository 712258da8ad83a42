//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "octobase-wasm: build it with GOOS=js GOARCH=wasm")
	os.Exit(2)
}
