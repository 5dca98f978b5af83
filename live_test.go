package notifyql

import "testing"

func TestTopicRoundTrip(t *testing.T) {
	topic := Topic{Kind: TopicTotals, ServiceID: "5a000000-0000-0000-0000-00000000000a", Key: "7"}
	got, err := ParseTopic(topic.String())
	if err != nil || got != topic {
		t.Fatalf("ParseTopic(%q) = %+v, %v", topic.String(), got, err)
	}
	for _, bad := range []string{"", "totals", "totals:not-a-uuid:7", "totals:5a000000-0000-0000-0000-00000000000a"} {
		if _, err := ParseTopic(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseTopic(%q) error = %v, want EINVALID", bad, err)
		}
	}
}

func TestChangeAffects(t *testing.T) {
	const svc, other = "5a000000-0000-0000-0000-00000000000a", "5b000000-0000-0000-0000-00000000000b"
	const n1, n2 = "a0000000-0000-0000-0000-000000000001", "a0000000-0000-0000-0000-000000000002"
	tests := []struct {
		name   string
		change Change
		topic  Topic
		want   bool
	}{
		{"a notification moves the totals", Change{svc, TableNotifications, []string{n1}, false}, Topic{TopicTotals, svc, "7"}, true},
		{"and the template statistics", Change{svc, TableNotifications, []string{n1}, false}, Topic{TopicTemplateStatistics, svc, "0"}, true},
		{"not another service's", Change{other, TableNotifications, []string{n1}, false}, Topic{TopicTotals, svc, "7"}, false},
		{"its own detail", Change{svc, TableNotifications, []string{n1}, false}, Topic{TopicNotification, svc, n1}, true},
		{"not another notification's detail", Change{svc, TableNotifications, []string{n1}, false}, Topic{TopicNotification, svc, n2}, false},
		{"every detail when the ids were capped", Change{svc, TableNotifications, []string{n1}, true}, Topic{TopicNotification, svc, n2}, true},
		{"an inbound text moves the inbox", Change{svc, TableInboundSMS, nil, false}, Topic{TopicInbox, svc, ""}, true},
		{"but not the totals", Change{svc, TableInboundSMS, nil, false}, Topic{TopicTotals, svc, "7"}, false},
		{"a job moves the upcoming jobs", Change{svc, TableJobs, nil, false}, Topic{TopicUpcomingJobs, svc, ""}, true},
		{"a report request its own topic", Change{svc, TableReportRequests, []string{n2}, false}, Topic{TopicReportRequest, svc, n2}, true},
	}
	for _, tt := range tests {
		if got := tt.change.Affects(tt.topic); got != tt.want {
			t.Errorf("%s: Affects = %v, want %v", tt.name, got, tt.want)
		}
	}
}
