// Package migrations holds notifyql's numbered SQL migrations, embedded into the binary.
package migrations

import "embed"

// 00002_reference_data.sql is generated from the CSV files in data/.
//go:generate go run gen_reference.go

// FS holds every migration file, named NNNNN_description.sql in goose's format.
//
//go:embed *.sql
var FS embed.FS
