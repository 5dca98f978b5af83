// Package seed generates data: the demo and bench data sets loaded into an empty database,
// and the simulator that keeps a database's sending pipeline moving. It writes through pgx
// like the stores, and reuses the store package's fact-table build; the stores never import
// it.
package seed
