"""The demo: Socialudvalget's meeting of 04-10-2022, its cases with their histories, the
meeting plan and one user per role, loaded through the real service layer."""
