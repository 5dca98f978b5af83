package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/99designs/gqlgen/graphql"

	"notifyql"
)

// The presenter shows an error that the backend coder recognises with its code, leaves a
// coded domain error as it is, and anything else internal.
func TestErrorPresenterCodesBackendErrors(t *testing.T) {
	lost := errors.New("connection refused")
	coder := func(err error) *notifyql.Error {
		if errors.Is(err, lost) {
			return notifyql.Errorf(notifyql.EUNAVAILABLE, "the database is unavailable right now: try again shortly")
		}
		return nil
	}
	present := newErrorPresenter(slog.New(slog.DiscardHandler), nil, coder)
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, nil)
	for _, tt := range []struct {
		name          string
		err           error
		code, message string
	}{
		{"a lost database", fmt.Errorf("load services: %w", lost), "UNAVAILABLE", "the database is unavailable right now: try again shortly"},
		{"a domain error wrapping a lost database", fmt.Errorf("%w: %w", notifyql.Errorf(notifyql.ENOTFOUND, "service not found"), lost), "NOT_FOUND", "service not found"},
		{"anything else", errors.New("boom"), "INTERNAL", "internal error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := present(ctx, tt.err)
			if got.Extensions["code"] != tt.code || got.Message != tt.message {
				t.Errorf("presented %q %v, want %q %s", got.Message, got.Extensions, tt.message, tt.code)
			}
		})
	}
}
