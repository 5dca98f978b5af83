package notifyql

// StatusGroup is one part of the single status partition that totals, counts, filters,
// exports and reports all share (DOMAIN.md §2.2).
type StatusGroup string

const (
	GroupSending   StatusGroup = "sending"
	GroupDelivered StatusGroup = "delivered"
	GroupFailed    StatusGroup = "failed"
)

// StatusGroups lists the groups in display order.
func StatusGroups() []StatusGroup {
	return []StatusGroup{GroupSending, GroupDelivered, GroupFailed}
}

// StatusesInGroup returns the stored statuses of a group in a stable order, each group's
// namesake first among equals as DOMAIN.md §2.2 lists them; nil for an unknown group.
func StatusesInGroup(g StatusGroup) []NotificationStatus {
	switch g {
	case GroupSending:
		return []NotificationStatus{StatusCreated, StatusPending, StatusSending, StatusPendingVirusCheck}
	case GroupDelivered:
		return []NotificationStatus{StatusDelivered, StatusSent, StatusReturnedLetter}
	case GroupFailed:
		return []NotificationStatus{
			StatusFailed, StatusTechnicalFailure, StatusTemporaryFailure,
			StatusPermanentFailure, StatusValidationFailed, StatusVirusScanFailed,
		}
	}
	return nil
}

// Group returns the group a status counts towards. Cancelled, and any unknown value, belongs
// to no group: it never counts towards requested, totals or percentages.
func (s NotificationStatus) Group() (StatusGroup, bool) {
	switch s {
	case StatusCreated, StatusPending, StatusSending, StatusPendingVirusCheck:
		return GroupSending, true
	case StatusDelivered, StatusSent, StatusReturnedLetter:
		return GroupDelivered, true
	case StatusFailed, StatusTechnicalFailure, StatusTemporaryFailure,
		StatusPermanentFailure, StatusValidationFailed, StatusVirusScanFailed:
		return GroupFailed, true
	}
	return "", false
}

// IsFinal reports whether a notification has stopped moving for the UI's purposes: delivered,
// failed or cancelled. Later changes such as delivered → returned-letter still happen.
func (s NotificationStatus) IsFinal() bool {
	if s == StatusCancelled {
		return true
	}
	g, ok := s.Group()
	return ok && g != GroupSending
}

// RequestedStatuses is the "requested" set, every status except cancelled (13 values), in
// group order: sending, delivered, failed.
func RequestedStatuses() []NotificationStatus {
	var all []NotificationStatus
	for _, g := range StatusGroups() {
		all = append(all, StatusesInGroup(g)...)
	}
	return all
}

// ExpandStatusFilter turns a status filter into the stored values it selects (DOMAIN.md
// §2.3): an empty filter means requested; SENDING, DELIVERED and FAILED stand for their whole
// group; everything else for itself. First-seen order, no duplicates.
func ExpandStatusFilter(filter []NotificationStatus) []NotificationStatus {
	if len(filter) == 0 {
		return RequestedStatuses()
	}
	seen := make(map[NotificationStatus]bool)
	var out []NotificationStatus
	add := func(s NotificationStatus) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range filter {
		switch s {
		case StatusSending, StatusDelivered, StatusFailed:
			g, _ := s.Group()
			for _, member := range StatusesInGroup(g) {
				add(member)
			}
		default:
			add(s)
		}
	}
	return out
}

// The DOMAIN.md §2.4 label table, one column pair a notification type: the CSV text and
// the screen text of each status. A status without a label is shown raw. Switches rather
// than maps: a list page asks for a label a row, and the package holds no mutable state.

// csvLabel is a status's CSV text for a type, if it has one.
func csvLabel(t NotificationType, s NotificationStatus) (string, bool) {
	switch t {
	case TypeEmail:
		switch s {
		case StatusCreated, StatusSending:
			return "Sending", true
		case StatusSent, StatusDelivered:
			return "Delivered", true
		case StatusFailed:
			return "Failed", true
		case StatusTechnicalFailure:
			return "Technical failure", true
		case StatusTemporaryFailure:
			return "Inbox not accepting messages right now", true
		case StatusPermanentFailure:
			return "Email address doesn\u2019t exist", true
		}
	case TypeSMS:
		switch s {
		case StatusCreated, StatusSending:
			return "Sending", true
		case StatusSent:
			return "Sent internationally", true
		case StatusDelivered:
			return "Delivered", true
		case StatusFailed:
			return "Failed", true
		case StatusTechnicalFailure:
			return "Technical failure", true
		case StatusTemporaryFailure:
			return "Phone not accepting messages right now", true
		case StatusPermanentFailure:
			return "Phone number doesn\u2019t exist", true
		}
	case TypeLetter:
		switch s {
		case StatusCreated, StatusSending:
			return "Accepted", true
		case StatusDelivered:
			return "Received", true
		case StatusTechnicalFailure:
			return "Technical failure", true
		case StatusPermanentFailure:
			return "Permanent failure", true
		case StatusReturnedLetter:
			return "Returned", true
		}
	}
	return "", false
}

// screenLabel is a status's screen text for a type, if it has one.
func screenLabel(t NotificationType, s NotificationStatus) (string, bool) {
	switch t {
	case TypeEmail:
		switch s {
		case StatusCreated, StatusSending:
			return "Delivering", true
		case StatusSent, StatusDelivered:
			return "Delivered", true
		case StatusFailed:
			return "Failed", true
		case StatusTechnicalFailure:
			return "Technical failure", true
		case StatusTemporaryFailure:
			return "Inbox not accepting messages right now", true
		case StatusPermanentFailure:
			return "Email address does not exist", true
		}
	case TypeSMS:
		switch s {
		case StatusCreated, StatusSending, StatusPending:
			return "Delivering", true
		case StatusSent:
			return "Sent to an international number", true
		case StatusDelivered:
			return "Delivered", true
		case StatusFailed:
			return "Failed", true
		case StatusTechnicalFailure:
			return "Technical failure", true
		case StatusTemporaryFailure:
			return "Phone not accepting messages right now", true
		case StatusPermanentFailure:
			return "Not delivered", true
		case StatusValidationFailed:
			return "Validation failed", true
		}
	case TypeLetter:
		switch s {
		// A letter's list shows most statuses blank.
		case StatusCreated, StatusSending, StatusSent, StatusDelivered, StatusFailed,
			StatusTemporaryFailure, StatusReturnedLetter, StatusPendingVirusCheck, StatusCancelled:
			return "", true
		case StatusTechnicalFailure:
			return "Technical failure", true
		case StatusPermanentFailure:
			return "Permanent failure", true
		case StatusValidationFailed:
			return "Validation failed", true
		case StatusVirusScanFailed:
			return "Virus detected", true
		}
	}
	return "", false
}

// StatusCSVLabel is the status text used in CSV exports (DOMAIN.md §2.4). Statuses without a
// label, and unknown types, pass the stored value through.
func StatusCSVLabel(t NotificationType, s NotificationStatus) string {
	if label, ok := csvLabel(t, s); ok {
		return label
	}
	return string(s)
}

// StatusScreenLabel is the status text used in lists and the detail view (DOMAIN.md §2.4);
// for letters it is often blank. Statuses without a label, and unknown types, pass the stored
// value through.
func StatusScreenLabel(t NotificationType, s NotificationStatus) string {
	if label, ok := screenLabel(t, s); ok {
		return label
	}
	return string(s)
}
