package notifyql

import "testing"

func TestValidateID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"7b3e5c1a-2f4d-4e6b-8a9c-0d1e2f3a4b5c", true},
		{"7B3E5C1A-2F4D-4E6B-8A9C-0D1E2F3A4B5C", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"", false},
		{"7b3e5c1a2f4d4e6b8a9c0d1e2f3a4b5c", false},
		{"{7b3e5c1a-2f4d-4e6b-8a9c-0d1e2f3a4b5c}", false},
		{"urn:uuid:7b3e5c1a-2f4d-4e6b-8a9c-0d1e2f3a4b5c", false},
		{" 7b3e5c1a-2f4d-4e6b-8a9c-0d1e2f3a4b5c", false},
		{"7b3e5c1a-2f4d-4e6b-8a9c-0d1e2f3a4b5g", false},
		{"7b3e5c1a-2f4d-4e6b-8a9c_0d1e2f3a4b5c", false},
		{"7b3e5c1a-2f4d4-e6b-8a9c-0d1e2f3a4b5c", false},
		{"7b3e5c1a-2f4d-4e6b-8a9c-0d1e2f3a4b5\u00e9", false},
	}
	for _, tt := range tests {
		err := ValidateID("service", tt.in)
		if got := err == nil; got != tt.want {
			t.Errorf("ValidateID(%q) = %v, want valid %v", tt.in, err, tt.want)
		}
		if err != nil && (ErrorCode(err) != EINVALID || ErrorMessage(err) != "invalid service id") {
			t.Errorf("ValidateID(%q) = %q %q, want invalid / \"invalid service id\"", tt.in, ErrorCode(err), ErrorMessage(err))
		}
	}
}

func TestNormaliseID(t *testing.T) {
	if got, want := NormaliseID("7B3E5C1A-2F4D-4E6B-8A9C-0D1E2F3A4B5C"), "7b3e5c1a-2f4d-4e6b-8a9c-0d1e2f3a4b5c"; got != want {
		t.Errorf("NormaliseID = %q, want %q", got, want)
	}
}
