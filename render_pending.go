package notifyql

import "errors"

// Issue 16 in progress: these entry points are declared here so that the edge can be built
// against them while the rules are written. Each is deleted from this file when its rules
// land; the file is gone before the issue is resolved.

var errRenderingPending = errors.New("rendering is not built yet")

// RenderContent rebuilds a notification's message as the recipient received it
// (RENDERING.md §3, §4, §5.1). It is for sms, email and templated letters.
func RenderContent(in ContentInputs) (MessageContent, error) {
	return MessageContent{}, errRenderingPending
}

// ComposeLetter builds the document a Typesetter draws for a templated letter (§5).
func ComposeLetter(in ContentInputs) (LetterDocument, error) {
	return LetterDocument{}, errRenderingPending
}
