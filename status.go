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

// statusLabels is one column pair of the DOMAIN.md §2.4 table: the CSV text and the screen
// text of each status for one notification type. A missing status is shown raw.
type statusLabels struct {
	csv, screen map[NotificationStatus]string
}

// labelsFor returns the §2.4 label table of a type. It builds fresh maps on each call so that
// the package holds no mutable state.
func labelsFor(t NotificationType) (statusLabels, bool) {
	switch t {
	case TypeEmail:
		return statusLabels{
			csv: map[NotificationStatus]string{
				StatusCreated:          "Sending",
				StatusSending:          "Sending",
				StatusSent:             "Delivered",
				StatusDelivered:        "Delivered",
				StatusFailed:           "Failed",
				StatusTechnicalFailure: "Technical failure",
				StatusTemporaryFailure: "Inbox not accepting messages right now",
				StatusPermanentFailure: "Email address doesn\u2019t exist",
			},
			screen: map[NotificationStatus]string{
				StatusCreated:          "Delivering",
				StatusSending:          "Delivering",
				StatusSent:             "Delivered",
				StatusDelivered:        "Delivered",
				StatusFailed:           "Failed",
				StatusTechnicalFailure: "Technical failure",
				StatusTemporaryFailure: "Inbox not accepting messages right now",
				StatusPermanentFailure: "Email address does not exist",
			},
		}, true
	case TypeSMS:
		return statusLabels{
			csv: map[NotificationStatus]string{
				StatusCreated:          "Sending",
				StatusSending:          "Sending",
				StatusSent:             "Sent internationally",
				StatusDelivered:        "Delivered",
				StatusFailed:           "Failed",
				StatusTechnicalFailure: "Technical failure",
				StatusTemporaryFailure: "Phone not accepting messages right now",
				StatusPermanentFailure: "Phone number doesn\u2019t exist",
			},
			screen: map[NotificationStatus]string{
				StatusCreated:          "Delivering",
				StatusSending:          "Delivering",
				StatusPending:          "Delivering",
				StatusSent:             "Sent to an international number",
				StatusDelivered:        "Delivered",
				StatusFailed:           "Failed",
				StatusTechnicalFailure: "Technical failure",
				StatusTemporaryFailure: "Phone not accepting messages right now",
				StatusPermanentFailure: "Not delivered",
				StatusValidationFailed: "Validation failed",
			},
		}, true
	case TypeLetter:
		return statusLabels{
			csv: map[NotificationStatus]string{
				StatusCreated:          "Accepted",
				StatusSending:          "Accepted",
				StatusDelivered:        "Received",
				StatusTechnicalFailure: "Technical failure",
				StatusPermanentFailure: "Permanent failure",
				StatusReturnedLetter:   "Returned",
			},
			screen: map[NotificationStatus]string{
				StatusCreated:           "",
				StatusSending:           "",
				StatusSent:              "",
				StatusDelivered:         "",
				StatusFailed:            "",
				StatusTechnicalFailure:  "Technical failure",
				StatusTemporaryFailure:  "",
				StatusPermanentFailure:  "Permanent failure",
				StatusValidationFailed:  "Validation failed",
				StatusVirusScanFailed:   "Virus detected",
				StatusReturnedLetter:    "",
				StatusPendingVirusCheck: "",
				StatusCancelled:         "",
			},
		}, true
	}
	return statusLabels{}, false
}

// StatusCSVLabel is the status text used in CSV exports (DOMAIN.md §2.4). Statuses without a
// label, and unknown types, pass the stored value through.
func StatusCSVLabel(t NotificationType, s NotificationStatus) string {
	labels, ok := labelsFor(t)
	if !ok {
		return string(s)
	}
	if label, ok := labels.csv[s]; ok {
		return label
	}
	return string(s)
}

// StatusScreenLabel is the status text used in lists and the detail view (DOMAIN.md §2.4);
// for letters it is often blank. Statuses without a label, and unknown types, pass the stored
// value through.
func StatusScreenLabel(t NotificationType, s NotificationStatus) string {
	labels, ok := labelsFor(t)
	if !ok {
		return string(s)
	}
	if label, ok := labels.screen[s]; ok {
		return label
	}
	return string(s)
}
