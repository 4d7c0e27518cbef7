package chat

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ardanlabs/jinja"
)

// The Jinja library's + is lenient where Python's is strict: it joins a
// string with anything (a list's repr, "" for None), so a template that
// concatenates a turn's list or null content renders where transformers
// raises TypeError. Its ~ prints None as "" and floats with Go's %g, where
// jinja2 applies str(). The library has no operator hook, so Compile
// rewrites the operators instead: every a + b becomes warm_add(a, b) and
// every a ~ b becomes warm_cat(a, b), grouped as jinja2's parser groups
// them, and Render defines the two with Python's semantics.
//
// The rewrite parses each expression with jinja2's grammar (parser.py:
// condexpr, or, and, not, compare, math1 (+ -), concat (~), math2, pow,
// unary, primary, postfix, filters and tests). It covers {{ ... }} and the
// expressions of {% if %}, {% elif %}, {% set %} and {% for %}; other
// statements (macro defaults, call, filter, with) keep the library's
// operators. An expression the parser does not understand is left as it
// is, so the rewrite never changes what the library would render on a
// template it cannot parse; TestOperatorRewriteCoversTemplates checks that
// every operator of the committed templates is rewritten.

// Names of the functions the rewritten operators call (see Render).
const (
	addFunc = "warm_add"
	catFunc = "warm_cat"
)

// rewriteOperators rewrites the + and ~ of one tag ({{ ... }} or
// {% ... %}, whitespace-control marks included) into calls, and adjacent
// string literals ('a' "b", one string in jinja2) into one ~ of them
// (see above). ok is false when the tag holds an operator that the parser
// left alone.
func rewriteOperators(tag string) (out string, ok bool) {
	if len(tag) < 4 {
		return tag, true
	}
	open, body, close := splitTag(tag)
	toks, err := lexExpr(body)
	if err != nil {
		return tag, !strings.ContainsAny(body, "+~")
	}
	if !needsRewrite(toks) {
		return tag, true
	}
	rewritten, err := rewriteBody(strings.HasPrefix(open, "{{"), body, toks)
	if err != nil {
		return tag, !hasOperator(toks)
	}
	return open + rewritten + close, true
}

// needsRewrite reports whether an expression's tokens hold a + or ~ or two
// adjacent string literals.
func needsRewrite(toks []exprTok) bool {
	if hasOperator(toks) {
		return true
	}
	for i := 1; i < len(toks); i++ {
		if toks[i].kind == tokString && toks[i-1].kind == tokString {
			return true
		}
	}
	return false
}

// hasOperator reports whether an expression's tokens hold a + or ~ (a
// unary + counts: it is harmless, but the caller only needs "nothing was
// missed").
func hasOperator(toks []exprTok) bool {
	for _, t := range toks {
		if t.kind == tokOp && (t.text == "+" || t.text == "~") {
			return true
		}
	}
	return false
}

// rewriteBody rewrites the expressions of a tag's body: all of it for
// {{ ... }}, and the expressions of if, elif, set and for statements.
// Other statements are an error, as is anything the parser does not
// understand.
func rewriteBody(output bool, body string, toks []exprTok) (string, error) {
	p := &exprParser{src: body, toks: toks}
	whole := func(f frag, err error) (string, error) {
		if err != nil {
			return "", err
		}
		if !p.done() {
			return "", errSyntax
		}
		return body[:f.start] + f.text + body[f.end:], nil
	}
	if output {
		return whole(p.tuple(true))
	}
	if toks[0].kind != tokName {
		return "", errSyntax
	}
	switch toks[0].text {
	case "if", "elif":
		p.pos = 1
		return whole(p.expression(true))
	case "set":
		// set TARGET = EXPR; a block set (no =) has no expression.
		for i, t := range toks {
			if t.kind == tokOp && t.text == "=" {
				p.pos = i + 1
				return whole(p.tuple(true))
			}
		}
		return "", errSyntax
	case "for":
		// for TARGET in ITER [if COND] [recursive]
		for i, t := range toks {
			if t.kind == tokName && t.text == "in" {
				p.pos = i + 1
				return whole(p.forTail())
			}
		}
	}
	return "", errSyntax
}

// forTail parses what follows a for loop's "in": ITER [if COND]
// [recursive].
func (p *exprParser) forTail() (frag, error) {
	iter, err := p.tuple(false)
	if err != nil {
		return frag{}, err
	}
	kids := []frag{iter}
	if p.isName("if") {
		p.pos++
		cond, err := p.expression(true)
		if err != nil {
			return frag{}, err
		}
		kids = append(kids, cond)
	}
	if p.isName("recursive") {
		p.pos++
	}
	return p.join(iter.start, kids...), nil
}

// splitTag splits a tag into its opener with any whitespace-control mark
// ("{{-", "{%+"), its body, and its closer with any mark ("-}}").
func splitTag(tag string) (open, body, close string) {
	open, body, close = tag[:2], tag[2:len(tag)-2], tag[len(tag)-2:]
	if strings.HasPrefix(body, "-") || strings.HasPrefix(body, "+") {
		open, body = open+body[:1], body[1:]
	}
	if strings.HasSuffix(body, "-") || strings.HasSuffix(body, "+") {
		close, body = body[len(body)-1:]+close, body[:len(body)-1]
	}
	return open, body, close
}

type tokKind int

const (
	tokName tokKind = iota
	tokString
	tokNumber
	tokOp
)

// exprTok is one token of an expression, with its byte span in the body.
type exprTok struct {
	kind       tokKind
	text       string
	start, end int
}

// lexExpr splits an expression into jinja2's tokens: names, string
// literals (escapes skipped, not decoded), numbers and operators. Names
// are ASCII (jinja2 also takes Unicode identifiers; no chat template uses
// one, and a tag with one is left to the library).
func lexExpr(s string) ([]exprTok, error) {
	var toks []exprTok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			j := literalEnd(s, i)
			if j < 0 {
				return nil, errors.New("unterminated string literal")
			}
			toks = append(toks, exprTok{tokString, s[i:j], i, j})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, exprTok{tokName, s[i:j], i, j})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '_' || s[j] == '.' && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9') {
				j++
			}
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && s[k] >= '0' && s[k] <= '9' {
					for k < len(s) && s[k] >= '0' && s[k] <= '9' {
						k++
					}
					j = k
				}
			}
			toks = append(toks, exprTok{tokNumber, s[i:j], i, j})
			i = j
		default:
			n := 1
			if i+1 < len(s) {
				switch s[i : i+2] {
				case "**", "//", "==", "!=", "<=", ">=":
					n = 2
				}
			}
			if n == 1 && !strings.ContainsRune("+-*/%~<>=|.,:()[]{}", rune(c)) {
				return nil, fmt.Errorf("unexpected %q", c)
			}
			toks = append(toks, exprTok{tokOp, s[i : i+n], i, i + n})
			i += n
		}
	}
	return toks, nil
}

// frag is a parsed sub-expression: its span in the source and its text
// once rewritten.
type frag struct {
	start, end int
	text       string
}

// exprParser parses jinja2 expressions to rewrite their + and ~. Each
// method parses one level of jinja2's grammar and returns the fragment it
// consumed; only the operator levels change the text.
type exprParser struct {
	src  string
	toks []exprTok
	pos  int
}

var errSyntax = errors.New("expression not understood")

func (p *exprParser) done() bool { return p.pos >= len(p.toks) }

func (p *exprParser) peek() (exprTok, bool) {
	if p.done() {
		return exprTok{}, false
	}
	return p.toks[p.pos], true
}

// isOp reports whether the next token is one of the operators ops.
func (p *exprParser) isOp(ops ...string) bool { return p.nextIs(tokOp, ops) }

// isName reports whether the next token is one of the names (keywords).
func (p *exprParser) isName(names ...string) bool { return p.nextIs(tokName, names) }

func (p *exprParser) nextIs(kind tokKind, texts []string) bool {
	t, ok := p.peek()
	return ok && t.kind == kind && slices.Contains(texts, t.text)
}

func (p *exprParser) expect(op string) error {
	if !p.isOp(op) {
		return errSyntax
	}
	p.pos++
	return nil
}

// join is the fragment from start to the last token consumed, with the
// kids' rewritten texts in place of their spans (kids are in order and
// within the span).
func (p *exprParser) join(start int, kids ...frag) frag {
	end := p.toks[p.pos-1].end
	var b strings.Builder
	at := start
	for _, k := range kids {
		b.WriteString(p.src[at:k.start])
		b.WriteString(k.text)
		at = k.end
	}
	b.WriteString(p.src[at:end])
	return frag{start, end, b.String()}
}

func call(fn string, a, b frag) frag {
	return frag{a.start, b.end, fn + "(" + a.text + ", " + b.text + ")"}
}

// tuple is parse_tuple: expressions separated by commas, a trailing comma
// allowed (condexpr says whether "a if b else c" is allowed, as in jinja2).
func (p *exprParser) tuple(condexpr bool) (frag, error) {
	first, err := p.expression(condexpr)
	if err != nil {
		return frag{}, err
	}
	kids := []frag{first}
	for p.isOp(",") {
		p.pos++
		if p.done() || p.isOp(")", "]", "}") || p.isName("if", "recursive") {
			break
		}
		f, err := p.expression(condexpr)
		if err != nil {
			return frag{}, err
		}
		kids = append(kids, f)
	}
	return p.join(first.start, kids...), nil
}

// expression is parse_expression: a conditional expression when condexpr
// is set, else parse_or.
func (p *exprParser) expression(condexpr bool) (frag, error) {
	left, err := p.or()
	if err != nil {
		return frag{}, err
	}
	if !condexpr {
		return left, nil
	}
	kids := []frag{left}
	for p.isName("if") {
		p.pos++
		test, err := p.or()
		if err != nil {
			return frag{}, err
		}
		kids = append(kids, test)
		if p.isName("else") {
			p.pos++
			other, err := p.expression(true)
			if err != nil {
				return frag{}, err
			}
			kids = append(kids, other)
		}
	}
	return p.join(left.start, kids...), nil
}

// chain parses next (op next)* for operators that the rewrite leaves alone.
func (p *exprParser) chain(next func() (frag, error), isOp func() bool) (frag, error) {
	first, err := next()
	if err != nil {
		return frag{}, err
	}
	kids := []frag{first}
	for isOp() {
		p.pos++
		f, err := next()
		if err != nil {
			return frag{}, err
		}
		kids = append(kids, f)
	}
	return p.join(first.start, kids...), nil
}

func (p *exprParser) or() (frag, error) {
	return p.chain(p.and, func() bool { return p.isName("or") })
}

func (p *exprParser) and() (frag, error) {
	return p.chain(p.not, func() bool { return p.isName("and") })
}

func (p *exprParser) not() (frag, error) {
	if p.isName("not") {
		start := p.toks[p.pos].start
		p.pos++
		f, err := p.not()
		if err != nil {
			return frag{}, err
		}
		return p.join(start, f), nil
	}
	return p.compare()
}

func (p *exprParser) compare() (frag, error) {
	first, err := p.math1()
	if err != nil {
		return frag{}, err
	}
	kids := []frag{first}
	for {
		switch {
		case p.isOp("==", "!=", "<", ">", "<=", ">="), p.isName("in"):
			p.pos++
		case p.isName("not") && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == tokName && p.toks[p.pos+1].text == "in":
			p.pos += 2
		default:
			return p.join(first.start, kids...), nil
		}
		f, err := p.math1()
		if err != nil {
			return frag{}, err
		}
		kids = append(kids, f)
	}
}

// math1 is + and - (left-associative): a + b becomes warm_add(a, b).
func (p *exprParser) math1() (frag, error) {
	left, err := p.concat()
	if err != nil {
		return frag{}, err
	}
	for p.isOp("+", "-") {
		op := p.toks[p.pos].text
		p.pos++
		right, err := p.concat()
		if err != nil {
			return frag{}, err
		}
		if op == "+" {
			left = call(addFunc, left, right)
		} else {
			left = p.join(left.start, left, right)
		}
	}
	return left, nil
}

// concat is ~: a ~ b becomes warm_cat(a, b).
func (p *exprParser) concat() (frag, error) {
	left, err := p.math2()
	if err != nil {
		return frag{}, err
	}
	for p.isOp("~") {
		p.pos++
		right, err := p.math2()
		if err != nil {
			return frag{}, err
		}
		left = call(catFunc, left, right)
	}
	return left, nil
}

func (p *exprParser) math2() (frag, error) {
	return p.chain(p.pow, func() bool { return p.isOp("*", "/", "//", "%") })
}

func (p *exprParser) pow() (frag, error) {
	return p.chain(func() (frag, error) { return p.unary(true) }, func() bool { return p.isOp("**") })
}

// unary is parse_unary: a sign binds to a unary without filters; filters
// and tests then apply to the whole.
func (p *exprParser) unary(withFilter bool) (frag, error) {
	t, ok := p.peek()
	if !ok {
		return frag{}, errSyntax
	}
	var node frag
	var err error
	if p.isOp("-", "+") {
		p.pos++
		inner, err := p.unary(false)
		if err != nil {
			return frag{}, err
		}
		node = p.join(t.start, inner)
	} else {
		node, err = p.primary()
		if err != nil {
			return frag{}, err
		}
	}
	if node, err = p.postfix(node); err != nil {
		return frag{}, err
	}
	if withFilter {
		return p.filterExpr(node)
	}
	return node, nil
}

// primary is a name, literal, or bracketed tuple, list or dict.
func (p *exprParser) primary() (frag, error) {
	t, ok := p.peek()
	if !ok {
		return frag{}, errSyntax
	}
	switch {
	case t.kind == tokName, t.kind == tokNumber:
		p.pos++
		return p.join(t.start), nil
	case t.kind == tokString:
		// Adjacent literals are one string in jinja2; the library would
		// take them for separate values, so they become (a ~ b), its ~ of
		// two strings being plain concatenation.
		lits := []string{t.text}
		for p.pos++; !p.done() && p.toks[p.pos].kind == tokString; p.pos++ {
			lits = append(lits, p.toks[p.pos].text)
		}
		f := p.join(t.start)
		if len(lits) > 1 {
			f.text = "(" + strings.Join(lits, " ~ ") + ")"
		}
		return f, nil
	case p.isOp("("):
		return p.bracketed(")", func() (frag, error) { return p.expression(true) })
	case p.isOp("["):
		return p.bracketed("]", func() (frag, error) { return p.expression(true) })
	case p.isOp("{"):
		return p.bracketed("}", func() (frag, error) {
			k, err := p.expression(true)
			if err != nil {
				return frag{}, err
			}
			if err := p.expect(":"); err != nil {
				return frag{}, err
			}
			v, err := p.expression(true)
			if err != nil {
				return frag{}, err
			}
			return p.join(k.start, k, v), nil
		})
	}
	return frag{}, errSyntax
}

// bracketed parses an opening bracket, items separated by commas (a
// trailing comma allowed) and the closer.
func (p *exprParser) bracketed(closer string, item func() (frag, error)) (frag, error) {
	start := p.toks[p.pos].start
	p.pos++
	var kids []frag
	for !p.isOp(closer) {
		f, err := item()
		if err != nil {
			return frag{}, err
		}
		kids = append(kids, f)
		if !p.isOp(",") {
			break
		}
		p.pos++
	}
	if err := p.expect(closer); err != nil {
		return frag{}, err
	}
	return p.join(start, kids...), nil
}

// postfix is attribute access, subscripts and calls.
func (p *exprParser) postfix(node frag) (frag, error) {
	for {
		switch {
		case p.isOp("."):
			p.pos++
			t, ok := p.peek()
			if !ok || t.kind != tokName && t.kind != tokNumber {
				return frag{}, errSyntax
			}
			p.pos++
			node = p.join(node.start, node)
		case p.isOp("["):
			sub, err := p.bracketed("]", p.subscript)
			if err != nil {
				return frag{}, err
			}
			node = p.join(node.start, node, sub)
		case p.isOp("("):
			args, err := p.bracketed(")", p.argument)
			if err != nil {
				return frag{}, err
			}
			node = p.join(node.start, node, args)
		default:
			return node, nil
		}
	}
}

// subscript is an index or a slice a:b:c with any part left out.
func (p *exprParser) subscript() (frag, error) {
	t, ok := p.peek()
	if !ok {
		return frag{}, errSyntax
	}
	from := p.pos
	var kids []frag
	for part := 0; part < 3; part++ {
		if !p.isOp(":", ",", "]") {
			f, err := p.expression(true)
			if err != nil {
				return frag{}, err
			}
			kids = append(kids, f)
		}
		if part == 2 || !p.isOp(":") {
			break
		}
		p.pos++
	}
	if p.pos == from {
		return frag{}, errSyntax
	}
	return p.join(t.start, kids...), nil
}

// argument is one call argument: an expression, name=expression, *args or
// **kwargs.
func (p *exprParser) argument() (frag, error) {
	t, ok := p.peek()
	if !ok {
		return frag{}, errSyntax
	}
	if p.isOp("*", "**") {
		p.pos++
	} else if t.kind == tokName && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == tokOp && p.toks[p.pos+1].text == "=" {
		p.pos += 2
	}
	f, err := p.expression(true)
	if err != nil {
		return frag{}, err
	}
	return p.join(t.start, f), nil
}

// filterExpr is parse_filter_expr: filters (| name[.name][(args)]), tests
// (is [not] name[(args) | one argument]) and calls, in any order.
func (p *exprParser) filterExpr(node frag) (frag, error) {
	for {
		switch {
		case p.isOp("|"):
			p.pos++
			if err := p.dottedName(); err != nil {
				return frag{}, err
			}
			kids := []frag{node}
			if p.isOp("(") {
				args, err := p.bracketed(")", p.argument)
				if err != nil {
					return frag{}, err
				}
				kids = append(kids, args)
			}
			node = p.join(node.start, kids...)
		case p.isName("is"):
			p.pos++
			if p.isName("not") {
				p.pos++
			}
			if err := p.dottedName(); err != nil {
				return frag{}, err
			}
			kids := []frag{node}
			t, ok := p.peek()
			switch {
			case p.isOp("("):
				args, err := p.bracketed(")", p.argument)
				if err != nil {
					return frag{}, err
				}
				kids = append(kids, args)
			case ok && (t.kind == tokString || t.kind == tokNumber || p.isOp("[", "{") ||
				t.kind == tokName && t.text != "else" && t.text != "or" && t.text != "and"):
				// jinja2 takes one argument without parentheses:
				// "x is divisibleby 3", "x is sameas false".
				arg, err := p.primary()
				if err != nil {
					return frag{}, err
				}
				if arg, err = p.postfix(arg); err != nil {
					return frag{}, err
				}
				kids = append(kids, arg)
			}
			node = p.join(node.start, kids...)
		case p.isOp("("):
			args, err := p.bracketed(")", p.argument)
			if err != nil {
				return frag{}, err
			}
			node = p.join(node.start, node, args)
		default:
			return node, nil
		}
	}
}

// dottedName consumes a filter's or test's name, which may be dotted.
func (p *exprParser) dottedName() error {
	if t, ok := p.peek(); !ok || t.kind != tokName {
		return errSyntax
	}
	p.pos++
	for p.isOp(".") && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == tokName {
		p.pos += 2
	}
	return nil
}

// addOp is Python's a + b for the values a template handles: strings
// and lists concatenate, numbers add (bool counts as int), and anything
// else raises TypeError with Python's message, as jinja2 lets it.
// An undefined operand raises, as jinja2's Undefined does.
func addOp(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 2 {
		return jinja.Undefined(), errors.New("+ takes two operands")
	}
	a, b := args[0], args[1]
	if a.IsUndefined() || b.IsUndefined() {
		return jinja.Undefined(), errors.New("UndefinedError: an operand of + is undefined")
	}
	switch {
	case a.IsString():
		if !b.IsString() {
			return jinja.Undefined(), fmt.Errorf("TypeError: can only concatenate str (not %q) to str", pyTypeName(b))
		}
		return jinja.NewString(a.AsString() + b.AsString()), nil
	case a.IsList():
		if !b.IsList() {
			return jinja.Undefined(), fmt.Errorf("TypeError: can only concatenate list (not %q) to list", pyTypeName(b))
		}
		items := make([]jinja.Value, 0, a.AsList().Len()+b.AsList().Len())
		items = append(items, a.AsList().Items...)
		items = append(items, b.AsList().Items...)
		return jinja.NewList(items), nil
	case isPyNumber(a) && isPyNumber(b):
		if a.IsFloat() || b.IsFloat() {
			return jinja.NewFloat(pyFloat(a) + pyFloat(b)), nil
		}
		x, y := pyInt(a), pyInt(b)
		s := x + y
		if (s > x) != (y > 0) {
			return jinja.Undefined(), errors.New("integer overflow in + (Python's integers are unbounded, warm's 64 bits)")
		}
		return jinja.NewInt(s), nil
	}
	return jinja.Undefined(), fmt.Errorf("TypeError: unsupported operand type(s) for +: '%s' and '%s'", pyTypeName(a), pyTypeName(b))
}

// catOp is jinja2's a ~ b: str(a) + str(b), undefined printing as "".
func catOp(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) != 2 {
		return jinja.Undefined(), errors.New("~ takes two operands")
	}
	return jinja.NewString(pyStr(args[0]) + pyStr(args[1])), nil
}

func isPyNumber(v jinja.Value) bool { return v.IsInt() || v.IsFloat() || v.IsBool() }

func pyInt(v jinja.Value) int64 {
	if v.IsBool() {
		if v.AsBool() {
			return 1
		}
		return 0
	}
	return v.AsInt()
}

func pyFloat(v jinja.Value) float64 {
	if v.IsFloat() {
		return v.AsFloat()
	}
	return float64(pyInt(v))
}

// pyTypeName is Python's type(v).__name__ for a template value.
func pyTypeName(v jinja.Value) string {
	switch {
	case v.IsNone():
		return "NoneType"
	case v.IsBool():
		return "bool"
	case v.IsInt():
		return "int"
	case v.IsFloat():
		return "float"
	case v.IsString():
		return "str"
	case v.IsList():
		return "list"
	case v.IsDict():
		return "dict"
	case v.IsCallable():
		return "function"
	}
	return "Undefined"
}
