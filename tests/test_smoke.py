def test_home_shows_vietnamese_login(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'lang="vi"' in html
    assert "csrf_token" in html
