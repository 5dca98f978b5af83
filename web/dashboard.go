package web

import "embed"

// dashboardDist is the live dashboard as `make assets` builds it from web/dashboard
// (TypeScript and the graphql-ws client, bundled by esbuild).
//
//go:embed dashboard/dist
var dashboardDist embed.FS

// dashboardDocuments is the trusted-documents manifest GraphQL Code Generator writes from
// the dashboard's operations: every operation the page sends, by its hash.
//
//go:embed dashboard/src/gql/persisted-documents.json
var dashboardDocuments []byte

// Dashboard is the live dashboard page: sign in with a token, choose a service, and watch
// its totals, template statistics, inbox count and recent messages over subscriptions, and
// open a message to see its content, live status and letter pages.
func Dashboard() Page {
	page := embeddedPage("/dashboard", dashboardDist, "dashboard/dist")
	// Each view has its URL beneath /dashboard (src/routes.ts): a reload opens it again.
	page.ClientRoutes = true
	return page
}

// DashboardDocuments is the dashboard's trusted-documents manifest (a JSON object from
// each operation's sha256 hash to its text): the page sends its operations by hash only,
// so a server that serves the page must list them.
func DashboardDocuments() []byte {
	return dashboardDocuments
}
