package notifyql

import (
	"fmt"
	"strconv"
	"strings"
)

// Money arithmetic is exact (DOMAIN.md §10.3, §15): every rate is stored as numeric(10,4)
// pounds, so an int64 count of ten-thousandths of a pound holds any rate, any rate × count
// and any sum of them without rounding. Only display rounds, half-even to whole pence.
//
// Overflow is not a concern at our volumes: int64 ten-thousandths reach £922 trillion, and a
// year of a service's charges is many orders of magnitude below that.

// MoneyScale is the number of Money units in one pound.
const MoneyScale = 10000

// moneyDecimals is the number of decimal places MoneyScale stands for.
const moneyDecimals = 4

// Money is an exact amount in ten-thousandths of a pound: 0.0233 is 233, £16.31 is 163100.
type Money int64

// ParseMoney reads a plain decimal such as "0.0233", "16.31", "-1" or "98765" (the text form
// of PostgreSQL numeric). A non-zero digit past the fourth decimal, exponents, NaN or
// anything else is EINVALID.
func ParseMoney(s string) (Money, error) {
	invalid := Errorf(EINVALID, "an amount of money must be a decimal number with at most %d decimal places", moneyDecimals)
	text := s
	negative := false
	if strings.HasPrefix(text, "-") {
		negative, text = true, text[1:]
	}
	whole, fraction, hasPoint := strings.Cut(text, ".")
	if whole == "" || !allDigits(whole) || (hasPoint && (fraction == "" || !allDigits(fraction))) {
		return 0, invalid
	}
	// Zeros past the fourth decimal change nothing (PostgreSQL keeps a numeric's scale:
	// 0.02330000 is 0.0233); any other digit there is a finer amount than Money holds.
	if len(fraction) > moneyDecimals {
		if strings.Trim(fraction[moneyDecimals:], "0") != "" {
			return 0, invalid
		}
		fraction = fraction[:moneyDecimals]
	}
	fraction += strings.Repeat("0", moneyDecimals-len(fraction))
	// Parsing whole and fraction together as one integer keeps the range check in strconv.
	units, err := strconv.ParseInt(whole+fraction, 10, 64)
	if err != nil {
		return 0, invalid
	}
	if negative {
		units = -units
	}
	return Money(units), nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Plus returns m + o.
func (m Money) Plus(o Money) Money { return m + o }

// Times returns m × n, as when a rate is charged for n units.
func (m Money) Times(n int64) Money { return Money(int64(m) * n) }

// Amount is the exact value in pounds, as the shortest decimal: "16.31", "0.0233", "0".
func (m Money) Amount() string {
	sign, abs := splitSign(int64(m))
	whole := abs / MoneyScale
	fraction := abs % MoneyScale
	if fraction == 0 {
		return sign + strconv.FormatUint(whole, 10)
	}
	digits := strings.TrimRight(fmt.Sprintf("%04d", fraction), "0")
	return sign + strconv.FormatUint(whole, 10) + "." + digits
}

// Display is the amount as pounds rounded half-even to whole pence, with thousands
// separators: "£0.45", "£16.31", "£1,234.57". A negative amount reads "-£1.00".
func (m Money) Display() string {
	sign, pence := m.pence()
	return sign + formatPounds(pence)
}

// pence is |m| rounded half-even to whole pence, with the sign apart.
func (m Money) pence() (sign string, pence uint64) {
	sign, abs := splitSign(int64(m))
	pence = roundHalfEven(abs, MoneyScale/100)
	if pence == 0 {
		sign = "" // "-£0.00" would only confuse
	}
	return sign, pence
}

// formatPounds writes whole pence as "£1,234.57".
func formatPounds(pence uint64) string {
	return "£" + FormatCount(int64(pence/100)) + fmt.Sprintf(".%02d", pence%100)
}

// splitSign returns the sign as text and the absolute value; unsigned so that the most
// negative int64 has an absolute value too.
func splitSign(v int64) (string, uint64) {
	if v < 0 {
		return "-", uint64(-(v + 1)) + 1
	}
	return "", uint64(v)
}

// roundHalfEven divides v by d, rounding a remainder of exactly half to the even quotient.
func roundHalfEven(v, d uint64) uint64 {
	q, r := v/d, v%d
	switch {
	case 2*r > d, 2*r == d && q%2 == 1:
		q++
	}
	return q
}

// SMSRate is an SMS price per fragment (the `rates` table), shown in pence.
type SMSRate Money

// Amount is the exact rate in pounds: "0.0233".
func (r SMSRate) Amount() string { return Money(r).Amount() }

// PencePerMessage is the rate in pence with exactly 2 decimals: 0.0233 → "2.33", 0.024 →
// "2.40". A numeric(10,4) rate in pounds is a whole number of hundredths of a penny, so this
// is exact and never rounds.
func (r SMSRate) PencePerMessage() string {
	sign, abs := splitSign(int64(r))
	return sign + strconv.FormatUint(abs/100, 10) + fmt.Sprintf(".%02d", abs%100)
}

// Display is the monthly-breakdown form of the rate: "2.33p".
func (r SMSRate) Display() string { return r.PencePerMessage() + "p" }

// UnitPrice is a price of one item, such as a letter rate, shown as pounds-as-currency.
type UnitPrice Money

// Amount is the exact price in pounds: "0.638".
func (p UnitPrice) Amount() string { return Money(p).Amount() }

// Display is the price as DOMAIN.md §15 shows unit prices: under £1 in whole pence rounded
// half-even (0.73 → "73p", 0.638 → "64p", 0.125 → "12p"), otherwise in pounds and pence
// ("£1.56", "£98,765.00"). The test is on the rounded pence, so 0.995 reads "£1.00" rather
// than "100p".
func (p UnitPrice) Display() string {
	sign, pence := Money(p).pence()
	if pence < 100 {
		return sign + strconv.FormatUint(pence, 10) + "p"
	}
	return sign + formatPounds(pence)
}
