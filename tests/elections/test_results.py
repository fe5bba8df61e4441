"""The results page: chart geometry, the table's arithmetic, and what it must never show."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from elections import services
from elections.charts import WIDTH, bar_chart, percent
from elections.models import Candidate

from .conftest import TEST_KEY_BITS, make_ballot


def test_percent_of_nothing_is_zero():
    assert percent(0, 0) == 0.0
    assert percent(1, 4) == 25.0


def test_bars_scale_to_the_share_of_ballots_and_stay_in_the_picture():
    chart = bar_chart([("Ada", 3), ("Grace", 1), ("Alan", 0)], ballots=4)
    assert [bar.percent for bar in chart.bars] == [75.0, 25.0, 0.0]
    assert chart.bars[0].bar_width == pytest.approx(chart.track_width * 0.75)
    assert chart.bars[2].bar_width == 0
    for bar in chart.bars:
        assert 0 <= bar.bar_width <= chart.track_width < bar.value_x < WIDTH
        assert bar.bar_y + chart.bar_height <= chart.height
    tops = [bar.bar_y for bar in chart.bars]
    assert tops == sorted(tops) and len(set(tops)) == 3


def test_an_election_without_ballots_draws_empty_bars():
    chart = bar_chart([("Ada", 0)], ballots=0)
    assert chart.bars[0].percent == 0.0 and chart.bars[0].bar_width == 0
    assert chart.height > 0


def publish(make_election, admin_user, make_user, slug, votes, **fields):
    """Open an election, cast ``votes`` (one selection list per voter), close and decrypt it."""
    election = make_election(slug=slug, **fields)
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    for index, selections in enumerate(votes):
        person = make_user(f"{slug}-voter-{index}", Role.VOTER)
        services.cast_ballot(
            election=election, voter=person, payload=make_ballot(election, person, selections)
        )
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    return election


def results_page(election) -> str:
    response = Client().get(reverse("elections:results", kwargs={"slug": election.slug}))
    assert response.status_code == 200
    return response.content.decode()


def test_several_choices_per_ballot_give_shares_of_ballots(make_election, admin_user, make_user):
    election = publish(
        make_election,
        admin_user,
        make_user,
        "pick-two",
        [[1, 1, 0], [1, 0, 1], [0, 0, 0], [1, 1, 0]],
        min_selections=0,
        max_selections=2,
    )
    page = results_page(election)
    # Ada is on 3 of 4 ballots, Grace on 2, Alan on 1; percentages are of ballots, not of marks.
    assert '<td class="num" data-candidate="1">3</td>' in page
    assert "75.0%" in page and "50.0%" in page and "25.0%" in page
    assert "4 ballots counted of 4 eligible voters: turnout 100.0%" in page


def test_turnout_counts_every_eligible_voter(make_election, admin_user, make_user):
    make_user("stayed-home", Role.VOTER)
    make_user("not-yet-approved", Role.VOTER, approved=False)
    election = publish(make_election, admin_user, make_user, "quiet", [[0, 1, 0]])
    assert "1 ballot counted of 2 eligible voters: turnout 50.0%" in results_page(election)


def test_an_election_without_ballots_publishes_zeros(make_election, admin_user, make_user):
    election = publish(make_election, admin_user, make_user, "empty", [])
    page = results_page(election)
    assert "0 ballots counted of 0 eligible voters: turnout 0.0%" in page
    assert '<td class="num" data-candidate="1">0</td>' in page


def test_candidate_names_are_escaped_in_the_chart_and_the_table(
    make_election, admin_user, make_user
):
    election = make_election(
        slug="hostile",
        questions=[
            {
                "title": "<i>Who?</i>",
                "options": ('<script>alert("x")</script>', "</svg><img src=x>"),
            }
        ],
    )
    Candidate.objects.filter(election=election, position=1).update(affiliation="<b>")
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    page = results_page(election)
    assert "<script>alert" not in page and "</svg><img" not in page and "<b>" not in page
    assert "<i>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;" in page and "&lt;i&gt;Who?&lt;/i&gt;" in page


def test_results_never_exist_before_decryption(open_election, voter, ballot_for, admin_user):
    election = open_election.election
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
    )
    url = reverse("elections:results", kwargs={"slug": election.slug})
    assert Client().get(url).status_code == 409
    services.close_election(election=election, actor=admin_user)
    response = Client().get(url)
    assert response.status_code == 409
    assert b"not published yet" in response.content
    assert b"data-candidate" not in response.content
