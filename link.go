package notifyql

// LinkSigner makes short-lived signed links, so that a browser can download a file with a
// plain link instead of an Authorization header.
type LinkSigner interface {
	// SignLink returns target (a path with an optional query) signed for userID; the link
	// opens that path with exactly that query, for that user, for a few minutes.
	SignLink(target string, userID string) (string, error)
}
