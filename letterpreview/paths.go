package letterpreview

import "strconv"

// The paths of a preview's files (RENDERING.md §7.2). They carry ids only.

// NotificationPDFPath is a letter's PDF.
func NotificationPDFPath(serviceID, notificationID string) string {
	return "/services/" + serviceID + "/notifications/" + notificationID + "/letter.pdf"
}

// NotificationPNGPath is a letter's page image.
func NotificationPNGPath(serviceID, notificationID string, page int) string {
	return "/services/" + serviceID + "/notifications/" + notificationID + "/letter/" + strconv.Itoa(page) + ".png"
}

// UploadPDFPath is a validated upload's PDF.
func UploadPDFPath(serviceID, uploadID string) string {
	return "/services/" + serviceID + "/letter-uploads/" + uploadID + ".pdf"
}

// UploadPNGPath is a validated upload's page image.
func UploadPNGPath(serviceID, uploadID string, page int) string {
	return "/services/" + serviceID + "/letter-uploads/" + uploadID + "/" + strconv.Itoa(page) + ".png"
}

// ParsePage reads a page number as a path writes it ("1" to "10", no sign, no leading
// zero); ok is false for anything else, which is answered 404.
func ParsePage(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}

// PageName is a page number as paths and cache keys write it.
func PageName(page int) string { return strconv.Itoa(page) }
