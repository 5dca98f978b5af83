// Package postgres holds everything that speaks SQL: stores, migrations, the change
// listener, rollups and the local server used by make run.
package postgres
