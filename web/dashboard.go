package web

import (
	"embed"
	"io/fs"
)

// dashboardDist is the live dashboard as `make assets` builds it from web/dashboard
// (plain JavaScript and the graphql-ws client, bundled by esbuild).
//
//go:embed dashboard/dist
var dashboardDist embed.FS

// Dashboard is the live dashboard page: sign in with a token, choose a service, and watch
// its totals, template statistics and inbox count over subscriptions.
func Dashboard() Page {
	files, err := fs.Sub(dashboardDist, "dashboard/dist")
	if err != nil {
		// fs.Sub fails only on an invalid path, which this constant is not.
		panic(err)
	}
	return Page{Path: "/dashboard", Files: files}
}
