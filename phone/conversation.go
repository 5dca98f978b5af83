package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"notifyql"
)

// smsSearchTerm is a text-message search term as DOMAIN.md §6.3 normalises it.
func smsSearchTerm(term string) string {
	sms := notifyql.TypeSMS
	return notifyql.NormaliseSearchTerm(&sms, term, NationalSignificantNumber)
}

// ConversationWith returns the forms a conversation with a stored number (an inbound text's
// user_number, or a sent text's `to`) is matched by (DOMAIN.md §11): its §6.3 search term
// for sent texts, and for inbound texts its national significant number, which every
// written form ends with, and equality of the E.164 forms. A number libphonenumber cannot
// read matches inbound texts only as stored.
func ConversationWith(stored string) notifyql.ConversationWith {
	with := notifyql.ConversationWith{Number: stored, SearchTerm: smsSearchTerm(stored)}
	if n, ok := read(stored); ok {
		e164 := storedForm(n)
		with.DigitsSuffix = phonenumbers.GetNationalSignificantNumber(n)
		with.Same = func(userNumber string) bool {
			normalised, err := Normalise(InboundNumber(userNumber))
			return err == nil && normalised == e164
		}
		return with
	}
	with.DigitsSuffix = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, stored)
	with.Same = func(userNumber string) bool { return userNumber == stored }
	return with
}

// InboundNumber is an inbound text's user_number as read must be given it. Providers hand
// texts over with the sender in the stored form, E.164 digits without "+", so bare digits
// (not starting with a trunk 0) get their "+" back: read with GB as the default region,
// 2304031001 would be 023 0403 1001, not Mauritius's +230 403 1001. Any other form is
// given as it is.
func InboundNumber(userNumber string) string {
	if userNumber != "" && userNumber[0] != '0' && strings.Trim(userNumber, "0123456789") == "" {
		return "+" + userNumber
	}
	return userNumber
}
