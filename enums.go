package notifyql

import (
	"io"
	"strconv"
	"strings"
)

// NotificationType is a channel: email, sms or letter. The value is the stored text.
type NotificationType string

const (
	TypeEmail  NotificationType = "email"
	TypeSMS    NotificationType = "sms"
	TypeLetter NotificationType = "letter"
)

// NotificationTypes lists every type in display order.
var NotificationTypes = []NotificationType{TypeEmail, TypeSMS, TypeLetter}

// NotificationStatus is a stored notification status (DOMAIN.md §2.1).
type NotificationStatus string

const (
	StatusCreated           NotificationStatus = "created"
	StatusSending           NotificationStatus = "sending"
	StatusPending           NotificationStatus = "pending"
	StatusSent              NotificationStatus = "sent"
	StatusDelivered         NotificationStatus = "delivered"
	StatusFailed            NotificationStatus = "failed"
	StatusTechnicalFailure  NotificationStatus = "technical-failure"
	StatusTemporaryFailure  NotificationStatus = "temporary-failure"
	StatusPermanentFailure  NotificationStatus = "permanent-failure"
	StatusPendingVirusCheck NotificationStatus = "pending-virus-check"
	StatusValidationFailed  NotificationStatus = "validation-failed"
	StatusVirusScanFailed   NotificationStatus = "virus-scan-failed"
	StatusReturnedLetter    NotificationStatus = "returned-letter"
	StatusCancelled         NotificationStatus = "cancelled"
)

// NotificationStatuses lists every stored status.
var NotificationStatuses = []NotificationStatus{
	StatusCreated, StatusSending, StatusPending, StatusSent, StatusDelivered, StatusFailed,
	StatusTechnicalFailure, StatusTemporaryFailure, StatusPermanentFailure,
	StatusPendingVirusCheck, StatusValidationFailed, StatusVirusScanFailed,
	StatusReturnedLetter, StatusCancelled,
}

// KeyType is the kind of API key a notification was sent with.
type KeyType string

const (
	KeyNormal KeyType = "normal"
	KeyTeam   KeyType = "team"
	KeyTest   KeyType = "test"
)

// KeyTypes lists every key type.
var KeyTypes = []KeyType{KeyNormal, KeyTeam, KeyTest}

// Postage is a letter's post class.
type Postage string

const (
	PostageFirst       Postage = "first"
	PostageSecond      Postage = "second"
	PostageEconomy     Postage = "economy"
	PostageEurope      Postage = "europe"
	PostageRestOfWorld Postage = "rest-of-world"
)

// Postages lists every post class.
var Postages = []Postage{PostageFirst, PostageSecond, PostageEconomy, PostageEurope, PostageRestOfWorld}

// The GraphQL enums name each stored value in UPPER_SNAKE case (DOMAIN.md §2.1). These
// methods satisfy gqlgen's Marshaler and Unmarshaler with the standard library alone.

func (t NotificationType) IsValid() bool   { return contains(NotificationTypes, t) }
func (s NotificationStatus) IsValid() bool { return contains(NotificationStatuses, s) }
func (k KeyType) IsValid() bool            { return contains(KeyTypes, k) }
func (p Postage) IsValid() bool            { return contains(Postages, p) }

func (t NotificationType) MarshalGQL(w io.Writer)   { marshalEnum(w, string(t)) }
func (s NotificationStatus) MarshalGQL(w io.Writer) { marshalEnum(w, string(s)) }
func (k KeyType) MarshalGQL(w io.Writer)            { marshalEnum(w, string(k)) }
func (p Postage) MarshalGQL(w io.Writer)            { marshalEnum(w, string(p)) }

func (t *NotificationType) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, "NotificationType", NotificationTypes, t)
}
func (s *NotificationStatus) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, "NotificationStatus", NotificationStatuses, s)
}
func (k *KeyType) UnmarshalGQL(v any) error { return unmarshalEnum(v, "KeyType", KeyTypes, k) }
func (p *Postage) UnmarshalGQL(v any) error { return unmarshalEnum(v, "Postage", Postages, p) }

// EnumName is the GraphQL name of a stored enum value: "pending-virus-check" → "PENDING_VIRUS_CHECK".
func EnumName(stored string) string {
	return strings.ToUpper(strings.ReplaceAll(stored, "-", "_"))
}

// quotedEnumNames holds the JSON of every known enum value's name, written once: a page
// writes a type and a status for each of its rows.
var quotedEnumNames = func() map[string][]byte {
	names := make(map[string][]byte)
	add := func(stored string) { names[stored] = []byte(strconv.Quote(EnumName(stored))) }
	for _, v := range NotificationTypes {
		add(string(v))
	}
	for _, v := range NotificationStatuses {
		add(string(v))
	}
	for _, v := range KeyTypes {
		add(string(v))
	}
	for _, v := range Postages {
		add(string(v))
	}
	return names
}()

func marshalEnum(w io.Writer, stored string) {
	if quoted, ok := quotedEnumNames[stored]; ok {
		w.Write(quoted)
		return
	}
	io.WriteString(w, strconv.Quote(EnumName(stored)))
}

func unmarshalEnum[T ~string](v any, enum string, values []T, dst *T) error {
	name, ok := v.(string)
	if !ok {
		return Errorf(EINVALID, "%s must be a string", enum)
	}
	for _, value := range values {
		if EnumName(string(value)) == name {
			*dst = value
			return nil
		}
	}
	return Errorf(EINVALID, "%q is not a valid %s", name, enum)
}

func contains[T comparable](values []T, v T) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

func (g StatusGroup) MarshalGQL(w io.Writer) { marshalEnum(w, string(g)) }
func (g *StatusGroup) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, "StatusGroup", []StatusGroup{GroupSending, GroupDelivered, GroupFailed}, g)
}
