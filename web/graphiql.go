package web

import "embed"

// graphiqlDist is GraphiQL as `make assets` builds it from web/graphiql (its package.json,
// lockfile and src/), committed so that `go build` needs no Node.
//
//go:embed all:graphiql/dist
var graphiqlDist embed.FS

// GraphiQL is the in-browser IDE at /graphiql: queries over POST /graphql and subscriptions
// over graphql-transport-ws, both signed in with the Authorization header its header editor
// holds (sent in connection_init for subscriptions).
func GraphiQL() Page {
	return embeddedPage("/graphiql", graphiqlDist, "graphiql/dist")
}
