package main

import (
	"net/url"
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
		{"localhost:6379", "not a URL but a bare address: write redis://HOST:PORT/DB (such as redis://localhost:6379/0), rediss:// for TLS, redis-sentinel://HOST:26379/DB?master_name=NAME for Sentinel"},
		{"127.0.0.1:6380", "such as redis://127.0.0.1:6380/0"},
		{"[::1]:6379", "such as redis://[::1]:6379/0"},
		{"localhost", "not a URL but a bare address: write redis://HOST:PORT/DB (such as redis://localhost:6379/0)"},
		{":secret@localhost:6379", "(such as redis://localhost:6379/0)"},
		{"", "not a URL but a bare address"},
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

// The NOTIFYQL_REDIS_SENTINEL_* variables name the same deployment as the redis-sentinel://
// URL that says the same, passwords of any spelling included, and the logged configuration
// shows neither password.
func TestSentinelVariablesNameWhatTheURLNames(t *testing.T) {
	const masterPassword, sentinelPassword = "p@ss:w/rd%20 ok?", "watch&see=1"
	cfg, err := loadConfig(envOf(map[string]string{
		"NOTIFYQL_REDIS_SENTINEL_ADDRS":           "10.0.0.1, 10.0.0.2:26380,sentinel.internal:26381",
		"NOTIFYQL_REDIS_SENTINEL_MASTER_NAME":     "main",
		"NOTIFYQL_REDIS_SENTINEL_USERNAME":        "watcher",
		"NOTIFYQL_REDIS_SENTINEL_PASSWORD":        sentinelPassword,
		"NOTIFYQL_REDIS_SENTINEL_MASTER_USERNAME": "app",
		"NOTIFYQL_REDIS_SENTINEL_MASTER_PASSWORD": masterPassword,
		"NOTIFYQL_REDIS_SENTINEL_DB":              "2",
		"NOTIFYQL_REDIS_SENTINEL_TLS":             "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	fromVariables, err := redisOptions(cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	fromURL, err := redisOptions("rediss-sentinel://app:p%40ss%3Aw%2Frd%2520%20ok%3F@10.0.0.1,10.0.0.2:26380,sentinel.internal:26381/2?master_name=main&sentinel_username=watcher&sentinel_password=" + url.QueryEscape(sentinelPassword))
	if err != nil {
		t.Fatal(err)
	}
	v, u := fromVariables.sentinel, fromURL.sentinel
	if v == nil || u == nil {
		t.Fatalf("not a Sentinel topology: variables %+v, URL %+v", fromVariables, fromURL)
	}
	if v.MasterName != "main" || !slices.Equal(v.SentinelAddrs, []string{"10.0.0.1:26379", "10.0.0.2:26380", "sentinel.internal:26381"}) ||
		v.DB != 2 || v.Username != "app" || v.Password != masterPassword ||
		v.SentinelUsername != "watcher" || v.SentinelPassword != sentinelPassword || v.TLSConfig == nil {
		t.Errorf("from the variables: %+v", v)
	}
	if v.MasterName != u.MasterName || !slices.Equal(v.SentinelAddrs, u.SentinelAddrs) || v.DB != u.DB ||
		v.Username != u.Username || v.Password != u.Password || v.SentinelUsername != u.SentinelUsername ||
		v.SentinelPassword != u.SentinelPassword || v.TLSConfig.ServerName != u.TLSConfig.ServerName || v.MaxIdleConns != u.MaxIdleConns {
		t.Errorf("the variables read\n%+v\nthe same URL reads\n%+v", v, u)
	}
	logged := cfg.LogValue().String()
	if strings.Contains(logged, "p@ss") || strings.Contains(logged, "p%40ss") || strings.Contains(logged, "see") || !strings.Contains(logged, "master_name=main") {
		t.Errorf("logged configuration: %s", logged)
	}

	// The least an operator sets: the Sentinels and the name; no TLS, database 0, no passwords.
	cfg, err = loadConfig(envOf(map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "sentinel.internal", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "main", "NOTIFYQL_REDIS_SENTINEL_TLS": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	least, err := redisOptions(cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	if s := least.sentinel; s == nil || !slices.Equal(s.SentinelAddrs, []string{"sentinel.internal:26379"}) || s.DB != 0 || s.TLSConfig != nil || s.Password != "" || s.SentinelPassword != "" {
		t.Errorf("the Sentinels and the name alone: %+v", least.sentinel)
	}
}

// A wrong NOTIFYQL_REDIS_SENTINEL_* value, or both forms at once, stops the configuration
// with one error naming the variable, and no password.
func TestSentinelVariablesRefuseWrongValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"both forms", map[string]string{"REDIS_URL": "redis://:secret@127.0.0.1:6379", "NOTIFYQL_REDIS_SENTINEL_ADDRS": "127.0.0.1", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m"},
			"REDIS_URL and NOTIFYQL_REDIS_SENTINEL_ADDRS, NOTIFYQL_REDIS_SENTINEL_MASTER_NAME, NOTIFYQL_REDIS_SENTINEL_PASSWORD, NOTIFYQL_REDIS_SENTINEL_MASTER_PASSWORD are both set"},
		{"both forms, passwords alone", map[string]string{"REDIS_URL": "redis://127.0.0.1:6379"},
			"REDIS_URL and NOTIFYQL_REDIS_SENTINEL_PASSWORD, NOTIFYQL_REDIS_SENTINEL_MASTER_PASSWORD are both set"},
		{"no addresses", map[string]string{"NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m"}, "NOTIFYQL_REDIS_SENTINEL_ADDRS is required with NOTIFYQL_REDIS_SENTINEL_MASTER_NAME, NOTIFYQL_REDIS_SENTINEL_PASSWORD"},
		{"an empty address list", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": " , ", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m"}, "NOTIFYQL_REDIS_SENTINEL_ADDRS must list the Sentinels as host[:port],…: the host list is empty or has an empty entry"},
		{"an empty entry", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "127.0.0.1,,127.0.0.2", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m"}, "empty entry"},
		{"a bad port", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "127.0.0.1:port", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m"}, `NOTIFYQL_REDIS_SENTINEL_ADDRS must list the Sentinels as host[:port],…: host "127.0.0.1:port" is not host:port`},
		{"no host", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": ":26379", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m"}, `host ":26379" is not host:port`},
		{"a URL for an address", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "redis://10.0.0.1:26379", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m"}, `host "redis://10.0.0.1:26379" is not host:port`},
		{"IPv6 in a list", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "10.0.0.1,[fd00::3]:26381", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m"}, "an IPv6 address only alone"},
		{"no master name", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "127.0.0.1"}, "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME is required"},
		{"a database that is no number", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "127.0.0.1", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m", "NOTIFYQL_REDIS_SENTINEL_DB": "zero"}, `NOTIFYQL_REDIS_SENTINEL_DB must be a database number, 0 or more; got "zero"`},
		{"a negative database", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "127.0.0.1", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m", "NOTIFYQL_REDIS_SENTINEL_DB": "-1"}, "NOTIFYQL_REDIS_SENTINEL_DB must be a database number"},
		{"TLS neither true nor false", map[string]string{"NOTIFYQL_REDIS_SENTINEL_ADDRS": "127.0.0.1", "NOTIFYQL_REDIS_SENTINEL_MASTER_NAME": "m", "NOTIFYQL_REDIS_SENTINEL_TLS": "yes please"}, `NOTIFYQL_REDIS_SENTINEL_TLS must be true or false; got "yes please"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"NOTIFYQL_REDIS_SENTINEL_PASSWORD": "s3ntinel-pw", "NOTIFYQL_REDIS_SENTINEL_MASTER_PASSWORD": "m4ster-pw"}
			for k, v := range tc.vars {
				vars[k] = v
			}
			cfg, err := loadConfig(envOf(vars))
			if err == nil {
				t.Fatalf("accepted, as %s", maskURL(cfg.RedisURL))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v; want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "s3ntinel-pw") || strings.Contains(err.Error(), "m4ster-pw") {
				t.Errorf("the error %q repeats a password", err)
			}
		})
	}
}
