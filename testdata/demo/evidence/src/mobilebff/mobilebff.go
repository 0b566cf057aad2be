// Package mobilebff stands in for the mobile backend-for-frontend: it
// trims responses to what the app version understands.
package mobilebff

import "github.com/Masterminds/semver/v3"

// Supported says whether an app version ("8.1.0") may still call the BFF.
func Supported(appVersion string) bool {
	v, err := semver.NewVersion(appVersion)
	if err != nil {
		return false
	}
	c, _ := semver.NewConstraint(">= 6.0.0")
	return c.Check(v)
}

// Fields lists the fields an app version can show.
func Fields(appVersion int) []string {
	f := []string{"sku", "title", "price"}
	if appVersion >= 7 {
		f = append(f, "badges")
	}
	if appVersion >= 8 {
		f = append(f, "photos")
	}
	return f
}

// Trim keeps the fields an app version can show.
func Trim(doc map[string]any, appVersion int) map[string]any {
	out := map[string]any{}
	for _, k := range Fields(appVersion) {
		if v, ok := doc[k]; ok {
			out[k] = v
		}
	}
	return out
}
