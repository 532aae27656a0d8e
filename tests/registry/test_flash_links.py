"""Pages cited in plain-text messages (flashes, the approval gate's problems) are links, never raw paths
(issue 14.7)."""

from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.template.loader import render_to_string
from django.test import Client

from tests.factories import make_model


def test_flash_messages_link_the_pages_they_cite_and_escape_the_rest():
    message = Message(
        constants.ERROR,
        "v3 cannot be submitted: re-assess the model (/governance/models/churn/assessments/). <script>x</script>",
    )
    html = render_to_string("_partials/messages.html", {"messages": [message]})
    assert '(<a href="/governance/models/churn/assessments/" class="alert-link">open</a>).' in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html


def test_only_same_site_paths_become_links():
    message = Message(constants.INFO, "See (//evil.example.org/x) and (https://evil.example.org/) and (/ok/).")
    html = render_to_string("_partials/messages.html", {"messages": [message]})
    assert html.count("<a ") == 1 and 'href="/ok/"' in html


def test_the_assessment_gate_banner_links_the_page_that_fixes_it(owner, team_alpha):
    model = make_model(owner, name="churn", team=team_alpha)
    client = Client()
    client.force_login(owner)
    page = client.get(f"/governance/models/{model.name}/assessments/").content.decode()
    assert "has no approved risk assessment" in page
    assert "(/governance/models/churn/assessments/)" not in page
    assert '<a href="/governance/models/churn/assessments/" class="alert-link">open</a>' in page
