# make help: every rule target of the Makefile, in order, with its
# "## target: text" description and the "## ..." lines right below it.
# A "## word:" line directly under another "##" line continues it, so a
# description may itself contain "word:".
/^## / && last != "" {
	sub(/^## */, "")
	desc[last] = desc[last] "\n" sprintf("%-12s", "") $0
	next
}
/^## [A-Za-z][A-Za-z0-9_-]*:/ {
	name = substr($2, 1, length($2) - 1)
	sub(/^## [^:]*: */, "")
	desc[name] = $0
	last = name
	next
}
{ last = "" }
/^[A-Za-z][A-Za-z0-9_-]*:([^=]|$)/ {
	t = substr($0, 1, index($0, ":") - 1)
	if (!(t in seen)) {
		seen[t] = 1
		order[++n] = t
	}
}
END {
	for (i = 1; i <= n; i++) {
		t = order[i]
		printf "%-12s%s\n", t, desc[t]
	}
}
