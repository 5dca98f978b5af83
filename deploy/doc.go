// Package deploy holds what an operator runs notifyql with: the image's Dockerfile, a
// systemd unit and its environment file, and Kubernetes manifests. It has no code; its
// tests check those files against the server and the README's configuration table.
package deploy
