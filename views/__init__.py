"""What people are shown, assembled once: a case's details (`views.case`) and the managers'
dashboard (`views.dashboard`). The web pages, the JSON API and the command line all read
these, so they cannot disagree about what a case shows or who may read it."""
