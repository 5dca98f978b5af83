package letterpreview

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// digestVersion changes when what a letter's images are made from changes without its
// inputs changing (a new page preparation), so that old cache entries and ETags lapse.
const digestVersion = "letter-preview v1"

// digest is the keyed hash (HMAC-SHA256, 128 bits shown) of everything that makes src's
// files: a templated letter's inputs (template version, personalisation, recipient, service
// facts), or an upload's bytes, and the page options. It changes whenever a page would, and
// being keyed it cannot be matched against a guess of the personal data it covers.
func digest(key []byte, src Source) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(digestVersion + "\n"))
	if src.Inputs != nil {
		// encoding/json writes a struct's fields in their declared order: the same inputs
		// always give the same text.
		encoded, _ := json.Marshal(src.Inputs)
		mac.Write([]byte("templated\n"))
		mac.Write(encoded)
	} else {
		file := sha256.Sum256(src.PDF)
		mac.Write([]byte("uploaded\n"))
		mac.Write(file[:])
	}
	mac.Write([]byte("\nhide-tag=" + strconv.FormatBool(src.HideNotifyTag) + "\noverlay="))
	for _, p := range src.OverlayPages {
		mac.Write([]byte(strconv.Itoa(p) + ","))
	}
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
