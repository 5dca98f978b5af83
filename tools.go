//go:build tools

// This file pins the code generator's version in go.mod.
package notifyql

import (
	_ "github.com/99designs/gqlgen"
)
