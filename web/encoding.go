package web

import (
	"strconv"
	"strings"
)

// Content codings a build may ship beside a file, in the server's order of preference when
// a client accepts several equally: brotli is the smallest, gzip what every client has.
const (
	codingBrotli   = "br"
	codingGzip     = "gzip"
	codingIdentity = "identity"
)

// codingSuffix is the file name suffix under which web/compress.mjs writes each coding.
var codingSuffix = map[string]string{codingBrotli: ".br", codingGzip: ".gz"}

// preference is the server's order among codings a client weighs equally.
var preference = []string{codingBrotli, codingGzip, codingIdentity}

// acceptedCodings reads an Accept-Encoding header (RFC 9110 §12.5.3) into the weight, from 0
// to 1000 thousandths, that it gives each of br, gzip and identity. A coding the header does
// not name takes the weight of "*" when it names that; otherwise identity stays acceptable
// (weight 1, below anything named) and the others are refused (weight 0). An element that
// does not parse (a bad q-value, stray parameters, not a token) is ignored as if absent,
// so that a malformed header can only make the answer plainer, never fail it. "x-gzip" is
// gzip, as the RFC asks. With no header at all, only identity is chosen: a client that says
// nothing may not decode anything.
func acceptedCodings(header string, present bool) map[string]int {
	weights := map[string]int{codingIdentity: 1}
	if !present {
		return weights
	}
	named := map[string]int{}
	star, hasStar := 0, false
	for _, element := range strings.Split(header, ",") {
		coding, q, ok := parseCodingElement(element)
		if !ok {
			continue
		}
		if coding == "x-gzip" {
			coding = codingGzip
		}
		if coding == "*" {
			star, hasStar = q, true
			continue
		}
		// A coding named twice keeps its first weight.
		if _, seen := named[coding]; !seen {
			named[coding] = q
		}
	}
	for _, coding := range preference {
		switch q, ok := named[coding]; {
		case ok:
			weights[coding] = q
		case hasStar:
			weights[coding] = star
		case coding != codingIdentity:
			weights[coding] = 0
		}
	}
	return weights
}

// parseCodingElement reads one element of Accept-Encoding: a coding token, optionally
// followed by ";q=" and a q-value. The coding is lower-cased; q is in thousandths.
func parseCodingElement(element string) (coding string, q int, ok bool) {
	coding, params, hasParams := strings.Cut(element, ";")
	coding = strings.ToLower(strings.Trim(coding, " \t"))
	if coding == "" || !isToken(coding) {
		return "", 0, false
	}
	if !hasParams {
		return coding, 1000, true
	}
	name, value, ok := strings.Cut(strings.Trim(params, " \t"), "=")
	if !ok || !strings.EqualFold(strings.Trim(name, " \t"), "q") {
		return "", 0, false
	}
	q, ok = parseQValue(strings.Trim(value, " \t"))
	return coding, q, ok
}

// parseQValue reads a q-value: "0" or "1" with up to three decimals, 1 at most
// (RFC 9110 §12.4.2), in thousandths.
func parseQValue(v string) (int, bool) {
	whole, fraction, _ := strings.Cut(v, ".")
	if (whole != "0" && whole != "1") || len(fraction) > 3 {
		return 0, false
	}
	if fraction != "" && strings.Trim(fraction, "0123456789") != "" {
		return 0, false
	}
	thousandths, _ := strconv.Atoi((fraction + "000")[:3])
	q := 1000*int(whole[0]-'0') + thousandths
	if q > 1000 {
		return 0, false
	}
	return q, true
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2) or "*".
func isToken(s string) bool {
	if s == "*" {
		return true
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// chooseCoding picks, among identity and the codings the file has, the one the client
// weighs most, the server's preference breaking ties. It reports false when the client
// accepts none of them (identity refused with q=0 and no other it takes).
func chooseCoding(weights map[string]int, has func(coding string) bool) (string, bool) {
	best, bestWeight := "", 0
	for _, coding := range preference {
		if coding != codingIdentity && !has(coding) {
			continue
		}
		if w := weights[coding]; w > bestWeight {
			best, bestWeight = coding, w
		}
	}
	return best, best != ""
}
