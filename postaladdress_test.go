package notifyql

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalisePostalAddress(t *testing.T) {
	type result struct {
		Lines            []string
		Country          string
		BFPO             string
		Postcode         string
		ProblemUK        string // without international letters
		ProblemWorldwide string // with international letters
	}
	tests := []struct {
		name string
		text string
		want result
	}{
		{"T30: stray spaces and commas", "123 Example St. \t  ,    \n, , ,  ,   ,     ,        ,\nCity of Town, Region,\nSW1A 1AA,,\n",
			result{[]string{"123 Example St.", "City of Town, Region", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "", ""}},
		{"T30: trailing UK nation lines all go", "Senedd Cymru\nCardiff\nCF99 1SN\nCymru\nUK",
			result{[]string{"Senedd Cymru", "Cardiff", "CF99 1SN"}, UnitedKingdom, "", "CF99 1SN", "", ""}},
		{"T30: a country's own name gives its English name", "123  Example Straße\nDeutschland",
			result{[]string{"123 Example Straße", "Germany"}, "Germany", "", "", "not-enough-address-lines", "not-enough-address-lines"}},
		{"postcode formatted", "1 Road\nSouthampton\nso146wb",
			result{[]string{"1 Road", "Southampton", "SO14 6WB"}, UnitedKingdom, "", "SO14 6WB", "", ""}},
		{"postcode with odd spacing", "1 Road\nLondon\n s w1a   1aa ",
			result{[]string{"1 Road", "London", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "", ""}},
		{"whitespace before punctuation, NBSP and zero-width characters", "Flat\u00a01 ,  High\u200b St .\nTown\u2060\nM1 1AE",
			result{[]string{"Flat 1, High St.", "Town", "M1 1AE"}, UnitedKingdom, "", "M1 1AE", "", ""}},
		{"CRLF and other line breaks", "1 Road\r\nTown\u2028Shire\rB33 8TH",
			result{[]string{"1 Road", "Town", "Shire", "B33 8TH"}, UnitedKingdom, "", "B33 8TH", "", ""}},
		{"Scotland", "1 Road\nEdinburgh\neh1 1aa\nScotland",
			result{[]string{"1 Road", "Edinburgh", "EH1 1AA"}, UnitedKingdom, "", "EH1 1AA", "", ""}},
		{"Northern Ireland then United Kingdom", "1 Road\nBelfast\nBT1 1AA\nNorthern Ireland\nUnited Kingdom",
			result{[]string{"1 Road", "Belfast", "BT1 1AA"}, UnitedKingdom, "", "BT1 1AA", "", ""}},
		{"England, Wales and Great Britain", "1 Road\nTown\nCF10 1AA\nWales\nEngland\nGreat Britain",
			result{[]string{"1 Road", "Town", "CF10 1AA"}, UnitedKingdom, "", "CF10 1AA", "", ""}},
		{"Jersey is the UK", "1 Road\nSt Helier\nJE2 3AB\nJersey",
			result{[]string{"1 Road", "St Helier", "JE2 3AB"}, UnitedKingdom, "", "JE2 3AB", "", ""}},
		{"a UK line above a country is kept", "1 Road\nUK\nParis\nFrance",
			result{[]string{"1 Road", "UK", "Paris", "France"}, "France", "", "", "cant-send-international-letters", ""}},
		{"international, case and punctuation ignored", "1 Rue de la Paix\nParis\n75001\nFRANCE.",
			result{[]string{"1 Rue de la Paix", "Paris", "75001", "France"}, "France", "", "", "cant-send-international-letters", ""}},
		{"an international postcode-looking line is not formatted", "1 Road\nsw1a1aa\nToronto\nCanada",
			result{[]string{"1 Road", "sw1a1aa", "Toronto", "Canada"}, "Canada", "", "", "cant-send-international-letters", ""}},
		{"synonyms, ampersands and a left-out 'the'", "1 Main St\nBasseterre\nSt. Kitts & Nevis",
			result{[]string{"1 Main St", "Basseterre", "St Kitts and Nevis"}, "St Kitts and Nevis", "", "", "cant-send-international-letters", ""}},
		{"'the' left out", "1 Main St\nBanjul\nGambia",
			result{[]string{"1 Main St", "Banjul", "The Gambia"}, "The Gambia", "", "", "cant-send-international-letters", ""}},
		{"Welsh name", "1 Stryd\nBerlin\nYr Almaen",
			result{[]string{"1 Stryd", "Berlin", "Germany"}, "Germany", "", "", "cant-send-international-letters", ""}},
		{"BFPO", "Cpl A Smith\nUnit 1\nBFPO 1234",
			result{[]string{"Cpl A Smith", "Unit 1", "BFPO 1234"}, UnitedKingdom, "1234", "", "", ""}},
		{"BFPO c/o, any case, no spaces, postcode formatted", "Cpl A Smith\nUnit 1\nbf14aa\nbfpoc/o 55",
			result{[]string{"Cpl A Smith", "Unit 1", "BF1 4AA", "BFPO 55"}, UnitedKingdom, "55", "BF1 4AA", "", ""}},
		{"BFPO with the UK", "Cpl A Smith\nUnit 1\nBFPO 801\nUK",
			result{[]string{"Cpl A Smith", "Unit 1", "BFPO 801"}, UnitedKingdom, "801", "", "", ""}},
		{"BFPO with a country", "Cpl A Smith\nUnit 1\nBFPO 801\nCyprus",
			result{[]string{"Cpl A Smith", "Unit 1", "BFPO 801"}, "Cyprus", "801", "", "has-country-for-bfpo-address", "has-country-for-bfpo-address"}},
		{"empty", " \n , ,\n\u200b\n",
			result{nil, UnitedKingdom, "", "", "address-is-empty", "address-is-empty"}},
		{"only country lines", "Wales\nUK",
			result{nil, UnitedKingdom, "", "", "not-enough-address-lines", "not-enough-address-lines"}},
		{"not enough lines", "1 Road\nSW1A 1AA",
			result{[]string{"1 Road", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "not-enough-address-lines", "not-enough-address-lines"}},
		{"seven lines", "1\n2\n3\n4\n5\n6\nSW1A 1AA",
			result{[]string{"1", "2", "3", "4", "5", "6", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "", ""}},
		{"too many lines", "1\n2\n3\n4\n5\n6\n7\nSW1A 1AA",
			result{[]string{"1", "2", "3", "4", "5", "6", "7", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "too-many-address-lines", "too-many-address-lines"}},
		{"line 1 without a letter or digit", "...\n1 Road\nSW1A 1AA",
			result{[]string{"...", "1 Road", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "invalid-address-line-1-or-2", "invalid-address-line-1-or-2"}},
		{"line 2 without a letter or digit", "1 Road\n-\nSW1A 1AA",
			result{[]string{"1 Road", "-", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "invalid-address-line-1-or-2", "invalid-address-line-1-or-2"}},
		{"not a postcode", "1 Road\nTown\nSW1A 1AC",
			result{[]string{"1 Road", "Town", "SW1A 1AC"}, UnitedKingdom, "", "", "not-a-real-uk-postcode", "not-a-real-uk-postcode-or-country"}},
		{"unknown area", "1 Road\nTown\nQQ1 1AA",
			result{[]string{"1 Road", "Town", "QQ1 1AA"}, UnitedKingdom, "", "", "not-a-real-uk-postcode", "not-a-real-uk-postcode-or-country"}},
		{"a line starts with a bracket", "1 Road\n(Town)\nSW1A 1AA",
			result{[]string{"1 Road", "(Town)", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "invalid-char-in-address", "invalid-char-in-address"}},
		{"a line starts with a backslash", "1 Road\nTown\n\\Shire\nSW1A 1AA",
			result{[]string{"1 Road", "Town", "\\Shire", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "invalid-char-in-address", "invalid-char-in-address"}},
		{"a quote inside a line is fine", "1 \"The Road\"\nTown\nSW1A 1AA",
			result{[]string{"1 \"The Road\"", "Town", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "", ""}},
		{"NFA", "Jo Bloggs\nnfa\nTown\nSW1A 1AA",
			result{[]string{"Jo Bloggs", "nfa", "Town", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "no-fixed-abode-address", "no-fixed-abode-address"}},
		{"no fixed abode", "Jo Bloggs\nOf No Fixed  Abode\nSW1A 1AA",
			result{[]string{"Jo Bloggs", "Of No Fixed Abode", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "no-fixed-abode-address", "no-fixed-abode-address"}},
		{"no fixed address", "Jo Bloggs\nno fixed address\nSW1A 1AA",
			result{[]string{"Jo Bloggs", "no fixed address", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "no-fixed-abode-address", "no-fixed-abode-address"}},
		{"NFA inside a word is fine", "Jo Bloggs\nNFA House\nSW1A 1AA",
			result{[]string{"Jo Bloggs", "NFA House", "SW1A 1AA"}, UnitedKingdom, "", "SW1A 1AA", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uk := NormalisePostalAddress(tt.text, false)
			worldwide := NormalisePostalAddress(tt.text, true)
			got := result{uk.Lines, uk.Country, uk.BFPO, uk.Postcode, uk.Problem(), worldwide.Problem()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NormalisePostalAddress(%q) (-want +got):\n%s", tt.text, diff)
			}
			if diff := cmp.Diff(uk.Lines, worldwide.Lines); diff != "" {
				t.Errorf("international letters changed the lines (-uk +worldwide):\n%s", diff)
			}
		})
	}
}

func TestUKPostcode(t *testing.T) {
	valid := map[string]string{
		"SW1A 1AA": "SW1A 1AA", "sw1a1aa": "SW1A 1AA", "SO146WB": "SO14 6WB", "EC1A 1BB": "EC1A 1BB",
		"W1A 0AX": "W1A 0AX", "M1 1AE": "M1 1AE", "B33 8TH": "B33 8TH", "CR2 6XH": "CR2 6XH",
		"DN55 1PT": "DN55 1PT", "ze1 0aa": "ZE1 0AA", "\tBT7 1NN\u00a0": "BT7 1NN",
	}
	for in, want := range valid {
		if !IsUKPostcode(in) {
			t.Errorf("IsUKPostcode(%q) = false, want true", in)
			continue
		}
		if got := FormatUKPostcode(in); got != want {
			t.Errorf("FormatUKPostcode(%q) = %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{
		"", "SW1A", "SW1A 1A", "SW1A 1AAA", "SW1A 1CA", "SW1A 1AI", "QQ1 1AA", "1SW 1AA",
		"SW1A-1AA", "SWW1 1AA", "S 1AA", "SW1AB 1AA", "ＳＷ1A 1AA",
	} {
		if IsUKPostcode(in) {
			t.Errorf("IsUKPostcode(%q) = true, want false", in)
		}
	}
}

func TestCountryData(t *testing.T) {
	index := countryIndex()
	canonicals := map[string]bool{}
	for line := range strings.Lines(countriesTSV) {
		names := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		canonicals[names[0]] = true
		for _, name := range names {
			// A name whose key another line took first would be found as the wrong country.
			if got := index[countryKey(name)]; got != names[0] {
				t.Errorf("%q finds %q, want %q", name, got, names[0])
			}
		}
	}
	if len(canonicals) < 250 {
		t.Fatalf("only %d countries and territories: the data file looks cut short", len(canonicals))
	}
	for _, c := range []string{UnitedKingdom, "Germany", "France", "United States", "Ireland", "Canary Islands"} {
		if !canonicals[c] {
			t.Errorf("%q is not a canonical name", c)
		}
	}
	for in, want := range map[string]string{
		"deutschland": "Germany", "U.S.A.": "United States", "Eire": "Ireland", "Tenerife": "Canary Islands",
		"Y Deyrnas Unedig": UnitedKingdom, "channel islands": UnitedKingdom, "East Germany": "Germany",
	} {
		if got, ok := LookupCountry(in); !ok || got != want {
			t.Errorf("LookupCountry(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "...", "Yugoslavia", "USSR", "London", "SW1A 1AA"} {
		if got, ok := LookupCountry(in); ok {
			t.Errorf("LookupCountry(%q) = %q, want no country", in, got)
		}
	}
}

func FuzzNormalisePostalAddress(f *testing.F) {
	for _, seed := range []string{
		"123 Example St. \t  ,    \n, , ,  ,   ,     ,        ,\nCity of Town, Region,\nSW1A 1AA,,\n",
		"Senedd Cymru\nCardiff\nCF99 1SN\nCymru\nUK", "123  Example Straße\nDeutschland",
		"Cpl A Smith\nUnit 1\nBFPO c/o 1234\nFrance", "", "\u200b,\r\n\u2028 .", "NFA\n((name))\n@home",
	} {
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, text string, international bool) {
		a := NormalisePostalAddress(text, international)
		for _, line := range a.Lines {
			if line == "" || strings.TrimSpace(line) != line || strings.ContainsAny(line, "\n\r") {
				t.Fatalf("line %q is not normalised", line)
			}
		}
		if p := a.Problem(); p != "" {
			if title, _ := LetterValidationMessage(p, []int{1}, 1); title == "Validation failed" {
				t.Fatalf("Problem() = %q, which has no message", p)
			}
		}
		// The normalised lines are a fixed point: printing them and reading them back
		// gives the same lines. The exception is a country line left above the UK lines
		// that were taken out ("AX\nUK"), which reads as the country the second time.
		body := a.Lines
		if len(body) > 0 && (a.BFPO != "" || a.Country != UnitedKingdom) {
			body = body[:len(body)-1]
		}
		if len(body) > 0 {
			if _, ok := LookupCountry(body[len(body)-1]); ok {
				return
			}
		}
		again := NormalisePostalAddress(strings.Join(a.Lines, "\n"), international)
		if diff := cmp.Diff(a.Lines, again.Lines); diff != "" {
			t.Fatalf("normalising again changed the lines (-first +again):\n%s", diff)
		}
	})
}
