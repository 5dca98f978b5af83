package web

import "embed"

// dashboardDist is the live dashboard as `make assets` builds it from web/dashboard
// (plain JavaScript and the graphql-ws client, bundled by esbuild).
//
//go:embed dashboard/dist
var dashboardDist embed.FS

// Dashboard is the live dashboard page: sign in with a token, choose a service, and watch
// its totals, template statistics, inbox count and recent messages over subscriptions, and
// open a message to see its content, live status and letter pages.
func Dashboard() Page {
	return embeddedPage("/dashboard", dashboardDist, "dashboard/dist")
}
