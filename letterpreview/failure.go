package letterpreview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"notifyql"
)

// Failure is a rendering failure as the caller and the log see it (RENDERING.md §1.2):
// the notification (or upload) id, the kind and the error's class, never its text, which
// may quote the personal data that was being rendered.
type Failure struct {
	ID    string
	Kind  string
	Class string
}

func (f *Failure) Error() string {
	return fmt.Sprintf("rendering failed: kind=%s id=%s class=%s", f.Kind, f.ID, f.Class)
}

// Fail turns an error from rendering id as kind into what the caller is given: a request
// past its time stays itself (UNAVAILABLE to the caller), any other failure is logged by
// id, class and kind, counted by kind, and answered as an uncoded Failure, which the edge
// shows as "internal error" with the request id.
func (r *Renderer) Fail(ctx context.Context, kind, id string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return notifyql.Errorf(notifyql.EUNAVAILABLE, "rendering took too long: try again shortly")
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var coded *notifyql.Error
	if errors.As(err, &coded) {
		// A coded error (a store's NOT_FOUND, UNAVAILABLE) says what it is already.
		return err
	}
	f := &Failure{ID: id, Kind: kind, Class: errorClass(err)}
	if r == nil {
		return f
	}
	r.cfg.Logger.ErrorContext(ctx, "rendering failed", slog.String("id", id), slog.String("kind", kind), slog.String("class", f.Class))
	if r.cfg.CountFailure != nil {
		r.cfg.CountFailure(kind)
	}
	return f
}

// errorClass names err by its type, the innermost wrapped error's when it wraps one: a
// type names the failure without carrying its text.
func errorClass(err error) string {
	switch {
	case errors.Is(err, notifyql.ErrUnreadablePDF):
		return "unreadable_pdf"
	case errors.Is(err, errPanic):
		return "panic"
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return fmt.Sprintf("%T", err)
		}
		err = inner
	}
}
