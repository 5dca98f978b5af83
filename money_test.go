package notifyql

import "testing"

func TestParseMoney(t *testing.T) {
	for _, tt := range []struct {
		in       string
		want     Money
		wantCode string
	}{
		{"0.0233", 233, ""},
		{"16.31", 163100, ""},
		{"-1", -10000, ""},
		{"0", 0, ""},
		{"98765", 987650000, ""},
		{"0.638", 6380, ""},
		{"1.5000", 15000, ""},
		{"0.02330000", 233, ""},
		{"0.00001", 0, EINVALID},
		{"0.02335", 0, EINVALID},
		{"NaN", 0, EINVALID},
		{"", 0, EINVALID},
		{"-", 0, EINVALID},
		{".5", 0, EINVALID},
		{"1.", 0, EINVALID},
		{"1e3", 0, EINVALID},
		{"+1", 0, EINVALID},
		{"1,000", 0, EINVALID},
		{" 1", 0, EINVALID},
		{"--1", 0, EINVALID},
		{"99999999999999999999", 0, EINVALID},
	} {
		got, err := ParseMoney(tt.in)
		if code := ErrorCode(err); code != tt.wantCode {
			t.Errorf("ParseMoney(%q) code = %q, want %q", tt.in, code, tt.wantCode)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestMoneyAmountAndDisplay(t *testing.T) {
	for _, tt := range []struct {
		m               Money
		amount, display string
	}{
		{0, "0", "£0.00"},
		{233, "0.0233", "£0.02"},
		{4500, "0.45", "£0.45"},
		{163100, "16.31", "£16.31"},
		{93200, "9.32", "£9.32"},
		{12345678, "1234.5678", "£1,234.57"},
		{50, "0.005", "£0.00"},  // half-even: 0.5p rounds to the even 0p
		{150, "0.015", "£0.02"}, // 1.5p rounds to the even 2p
		{250, "0.025", "£0.02"}, // 2.5p rounds to the even 2p
		{251, "0.0251", "£0.03"},
		{249, "0.0249", "£0.02"},
		{-10000, "-1", "-£1.00"},
		{-233, "-0.0233", "-£0.02"},
		{-50, "-0.005", "£0.00"},
		{9876500000000, "987650000", "£987,650,000.00"},
	} {
		if got := tt.m.Amount(); got != tt.amount {
			t.Errorf("Money(%d).Amount() = %q, want %q", tt.m, got, tt.amount)
		}
		if got := tt.m.Display(); got != tt.display {
			t.Errorf("Money(%d).Display() = %q, want %q", tt.m, got, tt.display)
		}
	}
}

func TestMoneyArithmeticIsExact(t *testing.T) {
	rate := Money(233)
	may, june := rate.Times(400), rate.Times(300)
	if may != 93200 || june != 69900 || may.Plus(june) != 163100 {
		t.Errorf("400 and 300 at 0.0233 = %d + %d = %d, want 93200 + 69900 = 163100", may, june, may.Plus(june))
	}
	// Rounding each third of a penny separately would lose it; the exact sum keeps it.
	third := Money(33) // 0.0033
	if got := third.Times(3).Plus(third.Times(3)).Plus(third.Times(3)).Display(); got != "£0.03" {
		t.Errorf("9 × 0.0033 displays %q, want £0.03", got)
	}
}

func TestSMSRate(t *testing.T) {
	for _, tt := range []struct {
		rate                   SMSRate
		amount, pence, display string
	}{
		{233, "0.0233", "2.33", "2.33p"},
		{240, "0.024", "2.40", "2.40p"},
		{165, "0.0165", "1.65", "1.65p"},
		{1000, "0.1", "10.00", "10.00p"},
		{5, "0.0005", "0.05", "0.05p"},
		{0, "0", "0.00", "0.00p"},
	} {
		if got := tt.rate.Amount(); got != tt.amount {
			t.Errorf("SMSRate(%d).Amount() = %q, want %q", tt.rate, got, tt.amount)
		}
		if got := tt.rate.PencePerMessage(); got != tt.pence {
			t.Errorf("SMSRate(%d).PencePerMessage() = %q, want %q", tt.rate, got, tt.pence)
		}
		if got := tt.rate.Display(); got != tt.display {
			t.Errorf("SMSRate(%d).Display() = %q, want %q", tt.rate, got, tt.display)
		}
	}
}

func TestUnitPriceDisplay(t *testing.T) {
	for _, tt := range []struct {
		in, amount, display string
	}{
		{"0.73", "0.73", "73p"},
		{"0.638", "0.638", "64p"},
		{"0.125", "0.125", "12p"}, // half-even
		{"0.135", "0.135", "14p"}, // half-even
		{"0.59", "0.59", "59p"},
		{"0.05", "0.05", "5p"},
		{"0", "0", "0p"},
		{"0.995", "0.995", "£1.00"}, // rounds to a pound, so shown in pounds
		{"1", "1", "£1.00"},
		{"1.56", "1.56", "£1.56"},
		{"1.72", "1.72", "£1.72"},
		{"98765", "98765", "£98,765.00"},
		{"1234.5678", "1234.5678", "£1,234.57"},
	} {
		m, err := ParseMoney(tt.in)
		if err != nil {
			t.Fatalf("ParseMoney(%q): %v", tt.in, err)
		}
		p := UnitPrice(m)
		if got := p.Amount(); got != tt.amount {
			t.Errorf("UnitPrice(%s).Amount() = %q, want %q", tt.in, got, tt.amount)
		}
		if got := p.Display(); got != tt.display {
			t.Errorf("UnitPrice(%s).Display() = %q, want %q", tt.in, got, tt.display)
		}
	}
}
