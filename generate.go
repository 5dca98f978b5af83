package notifyql

// gqlgenerate is gqlgen's generate with the executor's goroutines routed through
// graph/marshallist.go (see its package comment).
//go:generate go run ./graph/internal/gqlgenerate
