package web

import "net/http"

// Home is the page that GET / redirects to.
const Home = "/graphiql"

// Pages are the pages the binary serves, by path, for server.Config.Pages.
func Pages() map[string]http.Handler {
	pages := map[string]http.Handler{}
	for _, p := range []Page{
		GraphiQL(),
		Dashboard(),
	} {
		pages[p.Path] = Handler(p)
	}
	return pages
}
