// Package notifyql is the domain vocabulary of the notifyql API: the types, statuses and
// their groups, permissions, coded errors, financial years, billing arithmetic and display
// formatting that every adapter speaks. It imports only the standard library.
package notifyql
