package tree

import "testing"

func rules(rs ...string) []Rule {
	var out []Rule
	for i := 0; i < len(rs); i += 2 {
		out = append(out, Rule{Include: rs[i] == "+", Pattern: rs[i+1]})
	}
	return out
}

func TestFilterMatch(t *testing.T) {
	cases := []struct {
		name  string
		rules []Rule
		in    []string
		out   []string
	}{
		{"no rules include everything", nil,
			[]string{"a", "d/e/f.txt", ".hidden"}, nil},
		{"a name pattern matches at any depth", rules("-", "*.tmp"),
			[]string{"a.txt", "d/a.tmpx"}, []string{"a.tmp", "d/e/b.tmp"}},
		{"a path pattern is anchored at the root", rules("-", "logs/*.gz"),
			[]string{"x/logs/a.gz", "logs/sub/a.gz", "logs/a.txt"}, []string{"logs/a.gz"}},
		{"a leading slash anchors a name", rules("-", "/top.txt"),
			[]string{"d/top.txt"}, []string{"top.txt"}},
		{"** crosses directories", rules("-", "logs/**/*.gz"),
			[]string{"logs/a.txt"}, []string{"logs/a.gz", "logs/x/y/a.gz"}},
		{"a directory pattern takes everything under it", rules("-", "cache/"),
			[]string{"cache", "cachex/a", "a/cache.txt"}, []string{"cache/a", "x/cache/y/z"}},
		{"an anchored directory pattern only the top one", rules("-", "/build/"),
			[]string{"src/build/a"}, []string{"build/a", "build/x/y"}},
		{"the last matching rule decides", rules("-", "*.log", "+", "keep.log"),
			[]string{"keep.log", "d/keep.log", "a.txt"}, []string{"a.log"}},
		{"an earlier rule loses to a later one", rules("+", "keep.log", "-", "*.log"),
			nil, []string{"keep.log", "a.log", "a.txt"}},
		{"a first --include means only what is included", rules("+", "*.jpg"),
			[]string{"a.jpg", "d/b.jpg"}, []string{"a.png", "d/c"}},
		{"aws style: exclude everything, include some", rules("-", "*", "+", "*.jpg"),
			[]string{"a.jpg", "d/b.jpg"}, []string{"a.png"}},
		{"names are byte-exact (spaces, Unicode, case)", rules("-", "Été *.txt"),
			[]string{"été 1.txt", "Ete 1.txt"}, []string{"Été 1.txt", "d/Été 2.txt"}},
		{"braces and classes", rules("-", "*.{bak,swp}", "-", "[0-9]*"),
			[]string{"a.txt"}, []string{"a.bak", "x/a.swp", "9lives"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewFilter(c.rules)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.in {
				if !f.Match(p) {
					t.Errorf("%s excluded, want included (%v)", p, c.rules)
				}
			}
			for _, p := range c.out {
				if f.Match(p) {
					t.Errorf("%s included, want excluded (%v)", p, c.rules)
				}
			}
		})
	}
}

func TestFilterPrune(t *testing.T) {
	cases := []struct {
		rules  []Rule
		dir    string
		prunes bool
	}{
		{rules("-", "cache/"), "cache", true},
		{rules("-", "cache/"), "a/cache", true},
		{rules("-", "cache/"), "a/cache/b", true},
		{rules("-", "cache/"), "cachex", false},
		{rules("-", "node_modules/**"), "node_modules", true},
		{rules("-", "node_modules/**"), "a/node_modules", false}, // "X/**" is anchored
		{rules("-", "**/node_modules/**"), "a/node_modules", true},
		{rules("-", "*.tmp"), "x.tmp", false}, // a name pattern is about files
		{rules("-", "cache/", "+", "cache/keep"), "cache", false},
		{rules("+", "*.jpg", "-", "cache/"), "cache", true},
		{nil, "a", false},
	}
	for _, c := range cases {
		f, err := NewFilter(c.rules)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Prune(c.dir); got != c.prunes {
			t.Errorf("%v: Prune(%q) = %v, want %v", c.rules, c.dir, got, c.prunes)
		}
	}
}

func TestFilterRejectsBadPatterns(t *testing.T) {
	for _, p := range []string{"", "/", "a[", "{a,b"} {
		if _, err := NewFilter([]Rule{{Pattern: p}}); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}
