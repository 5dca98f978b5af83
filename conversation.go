package notifyql

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// ConversationSentLimit is how many sent texts a conversation shows: the §6.3 search's
// first 50, the newest (DOMAIN.md §11).
const ConversationSentLimit = 50

// MessageDirection says which way a text in a conversation went.
type MessageDirection string

const (
	Inbound  MessageDirection = "inbound"
	Outbound MessageDirection = "outbound"
)

// MessageDirections lists both directions.
var MessageDirections = []MessageDirection{Inbound, Outbound}

func (d MessageDirection) IsValid() bool          { return contains(MessageDirections, d) }
func (d MessageDirection) MarshalGQL(w io.Writer) { marshalEnum(w, string(d)) }
func (d *MessageDirection) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, "MessageDirection", MessageDirections, d)
}

// ConversationMessage is one text of a conversation. Number and Content are personal data.
type ConversationMessage struct {
	ID        string
	Direction MessageDirection
	// Number is the inbound text's user_number or the sent text's `to`, as stored.
	Number string
	// Content is what an inbound text said; nil for sent texts, whose body this API does
	// not render (DOMAIN.md §12.1).
	Content *string
	// Status is a sent text's status; nil for inbound texts.
	Status    *NotificationStatus
	CreatedAt time.Time
}

// Conversation is the thread with one number, oldest first.
type Conversation struct {
	// Number is the number the conversation was opened with, as stored.
	Number   string
	Messages []*ConversationMessage
}

// ConversationWith is the number a conversation is with, in the forms texts are matched by.
// The phone package computes them: phone number rules are libphonenumber's, which the root
// package does not import.
type ConversationWith struct {
	// Number is the number as stored where the conversation was opened.
	Number string
	// SearchTerm is the §6.3 SMS search term: sent texts whose normalised_to contains it
	// are to this number.
	SearchTerm string
	// DigitsSuffix are digits every written form of the number ends with (its national
	// significant number), to find inbound candidates; "" finds none.
	DigitsSuffix string
	// Same reports whether an inbound text's user_number is this number, both normalised
	// to E.164 digits.
	Same func(userNumber string) bool
}

// ConversationStore reads the texts a conversation is made of.
type ConversationStore interface {
	// InboundText returns one of the service's inbound texts; ENOTFOUND when the service
	// has none with that id.
	InboundText(ctx context.Context, serviceID, id string) (*InboxMessage, error)
	// SentTexts returns the service's sent text messages whose normalised_to contains
	// term (matched literally), test keys and cancelled left out, newest first, at most
	// limit.
	SentTexts(ctx context.Context, serviceID, term string, limit int) ([]*ConversationMessage, error)
	// ReceivedTexts returns the service's inbound texts received since `since` whose
	// user_number, digits only, ends with digitsSuffix (digits only, not empty), newest first.
	ReceivedTexts(ctx context.Context, serviceID string, since time.Time, digitsSuffix string) ([]*ConversationMessage, error)
}

// ReadConversation assembles the thread with a number (DOMAIN.md §11): the newest
// ConversationSentLimit texts sent to it, found with the §6.3 SMS search, and every text
// received from it within the service's SMS retention, sorted by created_at ascending.
func ReadConversation(ctx context.Context, store ConversationStore, services ServiceStore, serviceID string, with ConversationWith, now time.Time, london *time.Location) (*Conversation, error) {
	retention, err := services.RetentionByServiceIDs(ctx, []string{serviceID})
	if err != nil {
		return nil, fmt.Errorf("read the conversation's retention: %w", err)
	}
	conversation := &Conversation{Number: with.Number}
	if with.SearchTerm != "" {
		sent, err := store.SentTexts(ctx, serviceID, with.SearchTerm, ConversationSentLimit)
		if err != nil {
			return nil, err
		}
		conversation.Messages = append(conversation.Messages, sent...)
	}
	if with.DigitsSuffix != "" {
		since := WindowStart(now, retention[serviceID].Days(TypeSMS), london)
		received, err := store.ReceivedTexts(ctx, serviceID, since, with.DigitsSuffix)
		if err != nil {
			return nil, err
		}
		for _, m := range received {
			if with.Same(m.Number) {
				conversation.Messages = append(conversation.Messages, m)
			}
		}
	}
	slices.SortStableFunc(conversation.Messages, func(a, b *ConversationMessage) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return conversation, nil
}
