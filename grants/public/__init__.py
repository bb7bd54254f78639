"""The public page: the fund, grants in publicity, funded projects, money and open data, without login."""
