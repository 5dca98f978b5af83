package server

import "testing"

// gqlparser's words keep the names of types, fields and variables, and lose the values the
// client wrote.
func TestHideLiterals(t *testing.T) {
	for _, tt := range []struct{ message, want string }{
		{`String cannot represent a non string value: 7700900123`, `String cannot represent a non string value: (not shown)`},
		{`Expected value of type "NotificationSearch", found 7700900123.`, `Expected value of type "NotificationSearch", found (not shown).`},
		{`Value "NIGHTINGALE_LANE" does not exist in "NotificationType" enum.`, `Value (not shown) does not exist in "NotificationType" enum.`},
		{`Unexpected String "07700 900123"`, `Unexpected String (not shown)`},
		{`Unexpected Name "priya"`, `Unexpected Name (not shown)`},
		{`Expected Name, found String "ann@example.org"`, `Expected Name, found (not shown)`},
		{`Cannot query field "recipients" on type "Notification". Did you mean "recipient"?`,
			`Cannot query field "recipients" on type "Notification". Did you mean "recipient"?`},
		{`Variable "$id" of required type "ID!" was not provided.`, `Variable "$id" of required type "ID!" was not provided.`},
		{`Variable "$ids" of type "[ID!]" used in position expecting type "[ID!]!".`, `Variable "$ids" of type "[ID!]" used in position expecting type "[ID!]!".`},
		{`Argument "term" has invalid value "a@b.c d".`, `Argument "term" has invalid value (not shown).`},
		{`unknown "12345 678"`, `unknown (not shown)`},
	} {
		if got := hideLiterals(tt.message); got != tt.want {
			t.Errorf("hideLiterals(%q)\n got %q\nwant %q", tt.message, got, tt.want)
		}
	}
}
