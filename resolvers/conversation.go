package resolvers

import (
	"context"

	"notifyql"
	"notifyql/graph"
	"notifyql/phone"
)

func (r *Resolver) Conversation() graph.ConversationResolver { return conversationResolver{r} }
func (r *Resolver) ConversationMessage() graph.ConversationMessageResolver {
	return conversationMessageResolver{r}
}

// Conversation reads the thread with the number of a sent text message or of a received
// text (DOMAIN.md §11); @hasPermission has checked view_activity. Ids of another service's
// rows are not found, so that they cannot be probed.
func (r serviceResolver) Conversation(ctx context.Context, s *notifyql.Service, notificationID, inboundSmsID *string) (*notifyql.Conversation, error) {
	if (notificationID == nil) == (inboundSmsID == nil) {
		return nil, notifyql.Errorf(notifyql.EINVALID, "give exactly one of notificationId and inboundSmsId")
	}
	var number string
	if inboundSmsID != nil {
		if err := notifyql.ValidateID("inbound text", *inboundSmsID); err != nil {
			return nil, err
		}
		text, err := r.conversations.InboundText(ctx, s.ID, notifyql.NormaliseID(*inboundSmsID))
		if err != nil {
			return nil, err
		}
		number = phone.InboundNumber(text.UserNumber)
	} else {
		if err := notifyql.ValidateID("notification", *notificationID); err != nil {
			return nil, err
		}
		// Looked up within the service, as inbound texts are: another service's id and one
		// that does not exist are both not found, by the same one statement.
		n, err := r.stores.Notifications.NotificationIn(ctx, notifyql.NormaliseID(*notificationID), []string{s.ID})
		if err != nil {
			return nil, err
		}
		if n.Type != notifyql.TypeSMS {
			return nil, notifyql.Errorf(notifyql.EINVALID, "a conversation is with a phone number: the notification is not a text message")
		}
		number = n.To
	}
	return notifyql.ReadConversation(ctx, r.conversations, r.stores.Services, s.ID, phone.ConversationWith(number), r.now(), r.london)
}

type conversationResolver struct{ *Resolver }

func (r conversationResolver) PhoneNumber(_ context.Context, c *notifyql.Conversation) (string, error) {
	return phone.Format(c.Number), nil
}

type conversationMessageResolver struct{ *Resolver }

func (r conversationMessageResolver) PhoneNumber(_ context.Context, m *notifyql.ConversationMessage) (string, error) {
	if m.Direction == notifyql.Inbound {
		return phone.Format(phone.InboundNumber(m.Number)), nil
	}
	return phone.Format(m.Number), nil
}

func (r conversationMessageResolver) StatusLabel(_ context.Context, m *notifyql.ConversationMessage) (*string, error) {
	if m.Status == nil {
		return nil, nil
	}
	label := notifyql.StatusScreenLabel(notifyql.TypeSMS, *m.Status)
	return &label, nil
}
