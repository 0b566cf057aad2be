package sdk

import (
	"strings"
	"testing"
)

func TestReadSettings(t *testing.T) {
	specs := []SettingSpec{{Name: "url"}, {Name: "timeout", Default: "5s"}}
	get, err := ReadSettings(Config{Settings: map[string]string{"url": " http://x ", "timeout": "  "}}, specs)
	if err != nil {
		t.Fatal(err)
	}
	if get("url") != "http://x" || get("timeout") != "5s" || get("nope") != "" {
		t.Errorf("url %q timeout %q", get("url"), get("timeout"))
	}
	_, err = ReadSettings(Config{Settings: map[string]string{"urll": "x", "b": "y"}}, specs)
	if CodeOf(err) != CodeInvalid || !strings.Contains(err.Error(), `unknown setting "b", "urll"`) {
		t.Errorf("unknown settings: %v", err)
	}
}
