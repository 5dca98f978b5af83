package main

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// REDIS_URL names one of three topologies by its scheme, and every one gets notifyql's
// client settings unless the URL sets its own.
func TestRedisURLNamesATopology(t *testing.T) {
	bound := redisIdleConnsPerCPU * runtime.GOMAXPROCS(0)

	single, err := redisOptions("redis://:secret@127.0.0.1:6380/2")
	if err != nil {
		t.Fatal(err)
	}
	if single.single == nil || single.single.Addr != "127.0.0.1:6380" || single.single.DB != 2 || single.single.Password != "secret" || single.single.MaxIdleConns != bound {
		t.Errorf("redis:// = %+v", single.single)
	}

	sentinel, err := redisOptions("redis-sentinel://app:secret@10.0.0.1,10.0.0.2:26380/1?master_name=main&sentinel_password=watch&dial_timeout=2s&max_idle_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	s := sentinel.sentinel
	if s == nil || s.MasterName != "main" || !slices.Equal(s.SentinelAddrs, []string{"10.0.0.1:26379", "10.0.0.2:26380"}) ||
		s.DB != 1 || s.Username != "app" || s.Password != "secret" || s.SentinelPassword != "watch" ||
		s.DialTimeout != 2*time.Second || s.MaxIdleConns != 3 || !s.ContextTimeoutEnabled || s.ReadBufferSize != 4<<10 {
		t.Errorf("redis-sentinel:// = %+v", s)
	}

	cluster, err := redisOptions("rediss-cluster://:secret@10.0.0.1:7000,10.0.0.2,10.0.0.3:7002")
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.cluster
	if c == nil || !slices.Equal(c.Addrs, []string{"10.0.0.1:7000", "10.0.0.2:6379", "10.0.0.3:7002"}) ||
		c.Password != "secret" || c.TLSConfig == nil || c.MaxIdleConns != bound || !c.ContextTimeoutEnabled || c.ReadBufferSize != 4<<10 {
		t.Errorf("rediss-cluster:// = %+v", c)
	}
}

// A wrong REDIS_URL is refused with one error that says what is wrong, and repeats no
// password.
func TestRedisURLRefusesWrongValues(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"http://:secret@127.0.0.1:6379", `unknown scheme "http"`},
		{"127.0.0.1:6379", "not a URL"},
		{"redis://:secret@127.0.0.1:6379/zero", "invalid database number"},
		{"redis://:secret@127.0.0.1:6379/0?max_idle_conns=many", "max_idle_conns"},
		{"redis-sentinel://:secret@127.0.0.1:26379", "needs ?master_name="},
		{"redis-sentinel://:secret@127.0.0.1:26379,,127.0.0.2:26379?master_name=m", "empty entry"},
		{"redis-sentinel://:secret@?master_name=m", "empty entry"},
		{"redis-sentinel://:secret@127.0.0.1:26379?master_name=m&password=other", "option password is not read here"},
		{"redis-sentinel://:secret@127.0.0.1:26379?master_name=m&colour=blue", "unexpected option: colour"},
		{"redis-sentinel://:secret@127.0.0.1:26379/x?master_name=m", "invalid database number"},
		{"redis-cluster://:secret@127.0.0.1:port,127.0.0.1:7000", `host "127.0.0.1:port" is not host:port`},
		{"redis-cluster://:secret@127.0.0.1:7000,127.0.0.1:port", `invalid port ":port"`},
		{"redis-cluster://:secret@127.0.0.1:7000/3", "database 0 only"},
		{"redis-cluster://:secret@127.0.0.1:7000?addr=127.0.0.1:7001", "option addr is not read here"},
		{"redis-cluster://:secret@127.0.0.1:7000?dial_timeout=soon", "dial_timeout"},
		{"redis-cluster://:secret@127.0.0.1:7000?sentinel_password=other", "unexpected option"},
		{"redis-cluster://:secret@127.0.0.1:7000\x7f", "not a URL"},
	} {
		_, err := redisOptions(tc.url)
		if err == nil {
			t.Errorf("%q was accepted", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "REDIS_URL ") {
			t.Errorf("%q: %v; want a REDIS_URL error saying %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "other") {
			t.Errorf("%q: the error %q repeats a password", tc.url, err)
		}
	}
}

func TestMaskURLHidesSentinelPasswords(t *testing.T) {
	masked := maskURL("redis-sentinel://app:secret@10.0.0.1,10.0.0.2/0?master_name=m&sentinel_password=watch")
	if strings.Contains(masked, "secret") || strings.Contains(masked, "watch") || !strings.Contains(masked, "10.0.0.1,10.0.0.2") {
		t.Errorf("maskURL = %s", masked)
	}
}
