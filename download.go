package notifyql

import (
	"net/url"
	"strings"
)

// The notifications CSV's direct download (DOMAIN.md §7.2): its address, the syntax of its
// query, and who may have it at what size.

// Query parameters of the notifications CSV.
const (
	DownloadTypeParam   = "message_type"
	DownloadStatusParam = "status"
)

// NotificationsCSVPath is the path of a service's notifications CSV.
func NotificationsCSVPath(serviceID string) string {
	return "/services/" + NormaliseID(serviceID) + "/download-notifications.csv"
}

// NotificationsCSVTarget is the path and query of the notifications CSV of one type with a
// status filter (nil for the default, every status but cancelled).
func NotificationsCSVTarget(serviceID string, t NotificationType, statuses []NotificationStatus) string {
	query := url.Values{DownloadTypeParam: {string(t)}}
	if len(statuses) > 0 {
		query.Set(DownloadStatusParam, FormatStatusList(statuses))
	}
	return NotificationsCSVPath(serviceID) + "?" + query.Encode()
}

// ParseNotificationType reads a message_type parameter: "email", "sms" or "letter".
func ParseNotificationType(s string) (NotificationType, error) {
	if s == "" {
		return "", Errorf(EINVALID, "message_type is required: email, sms or letter")
	}
	t := NotificationType(s)
	if !t.IsValid() {
		return "", Errorf(EINVALID, "message_type must be email, sms or letter")
	}
	return t, nil
}

// ParseStatusList reads a status parameter: stored status values (DOMAIN.md §2.1, such as
// "delivered" or "permanent-failure"), comma-separated. "sending", "delivered" and
// "failed" stand for their groups when the list is expanded (ExpandStatusFilter), as the
// GraphQL filter's values do. An empty parameter is the default filter (nil).
func ParseStatusList(s string) ([]NotificationStatus, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	statuses := make([]NotificationStatus, 0, len(parts))
	for _, part := range parts {
		status := NotificationStatus(part)
		if !status.IsValid() {
			// The value is not repeated: a status parameter is free text from the caller.
			return nil, Errorf(EINVALID, "status must be a comma-separated list of: %s", FormatStatusList(NotificationStatuses))
		}
		statuses = append(statuses, status)
	}
	return statuses, nil
}

// FormatStatusList writes statuses as ParseStatusList reads them.
func FormatStatusList(statuses []NotificationStatus) string {
	texts := make([]string, len(statuses))
	for i, s := range statuses {
		texts[i] = string(s)
	}
	return strings.Join(texts, ",")
}

// CheckDirectDownload refuses a direct download whose estimate is over
// DirectDownloadLimit, pointing to report requests (DOMAIN.md §7.2).
func CheckDirectDownload(estimate int64) error {
	if estimate <= DirectDownloadLimit {
		return nil
	}
	return Errorf(ETOOLARGE, "this download would have about %s rows, more than the %s a direct download allows: request a report instead (the requestReport mutation), which allows up to %s",
		FormatCount(estimate), FormatCount(DirectDownloadLimit), FormatCount(ReportRequestLimit))
}

// CanRequestReport reports whether an export of this estimate may be requested as a report
// (DOMAIN.md §7.2, §13): up to ReportRequestLimit rows, and any size for platform admins.
func CanRequestReport(estimate int64, platformAdmin bool) bool {
	return platformAdmin || estimate <= ReportRequestLimit
}

// DownloadOptions says how a caller may get a notifications CSV of this estimate: directly
// when permitted (view_activity) and within DirectDownloadLimit, as a report when permitted
// and CanRequestReport allows it.
func DownloadOptions(estimate int64, permitted, platformAdmin bool) (canDownload, canRequestReport bool) {
	return permitted && CheckDirectDownload(estimate) == nil, permitted && CanRequestReport(estimate, platformAdmin)
}
