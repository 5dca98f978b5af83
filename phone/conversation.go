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
	if n, ok := parse(stored); ok {
		e164 := strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+")
		with.DigitsSuffix = phonenumbers.GetNationalSignificantNumber(n)
		with.Same = func(userNumber string) bool {
			normalised, err := Normalise(userNumber)
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
