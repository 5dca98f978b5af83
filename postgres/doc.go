// Package postgres holds the stores and everything else that speaks SQL: migrations, the
// change listener, rollups and the local server used by make run. The data generator is
// its sub-package seed.
package postgres
